import Parallel

/// Moves points (in mesh-cell units) from the ranks that own the particles
/// to the ranks that own the FFT slabs their cloud-in-cell stencil touches,
/// and brings per-point results back. A point whose two x-planes belong to
/// different ranks goes to both; each treats only its own planes, and the
/// partial results add up exactly because CIC weights factorise by axis.
struct SlabExchange {
    let communicator: Communicator
    /// Where each outgoing copy came from (index into the caller's points), in send order.
    let origin: [Int]
    let sendCounts: [Int]
    /// Points received, in cell units [0, n).
    let received: [SIMD3<Double>]

    init(points: [SIMD3<Double>], meshSize n: Int, planeOwner: [Int], communicator: Communicator) {
        self.communicator = communicator
        let ranks = communicator.size
        var buckets = [[Int]](repeating: [], count: ranks)
        for (i, u) in points.enumerated() {
            let ix = Int(u.x) % n
            let a = planeOwner[ix], b = planeOwner[(ix + 1) % n]
            buckets[a].append(i)
            if b != a { buckets[b].append(i) }
        }
        origin = buckets.flatMap { $0 }
        sendCounts = buckets.map(\.count)
        received = communicator.alltoallv(origin.map { points[$0] }, sendCounts: sendCounts)
    }

    /// Returns per-point sums of the values computed for `received`
    /// (`results[i]` belongs to `received[i]`), in the caller's point order.
    func gatherBack(_ results: [SIMD3<Double>], pointCount: Int) -> [SIMD3<Double>] {
        // What came from rank s goes back to rank s: the received counts are the send counts of the reply.
        let replyCounts = communicator.alltoall(sendCounts)
        let replies = communicator.alltoallv(results, sendCounts: replyCounts)
        var sums = [SIMD3<Double>](repeating: .zero, count: pointCount)
        for (k, i) in origin.enumerated() { sums[i] += replies[k] }
        return sums
    }
}
