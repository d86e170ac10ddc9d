import Parallel

/// Copies of other ranks' particles that lie within a distance of the part
/// of space where this rank has particles of interest (the top-level cubes
/// holding them: particles drift out of their domain between decompositions,
/// so the cubes are those of their current keys, not of the decomposition).
/// Used for the short-range tree force (distance: the cut-off) and for
/// friends-of-friends (distance: the linking length).
public struct GhostExchange: Sendable {
    /// Indices of this rank's particles sent, grouped by destination rank.
    public let sentIndices: [Int]
    public let sendCounts: [Int]
    /// For each ghost received (in order): the rank it came from.
    public let ghostOwners: [Int]

    /// Finds, for every other rank, this rank's particles within `radius` of
    /// that rank's cubes; returns the exchange and the ghosts' positions. Collective.
    public static func exchange(positions: [IntegerPosition], keys: [UInt64], interesting: [Int], domain: Domain,
                                radius: Double, coordinates: IntegerCoordinates,
                                communicator: Communicator) -> (GhostExchange, [IntegerPosition]) {
        let ranks = communicator.size
        guard ranks > 1 else {
            return (GhostExchange(sentIndices: [], sendCounts: [0], ghostOwners: []), [])
        }
        var occupied = Set<Int>()
        for t in interesting { occupied.insert(domain.leafIndex(ofKey: keys[t])) }
        let myLeaves = occupied.sorted().map(Int32.init)
        let counts = communicator.allgather(myLeaves.count)
        let allLeaves = communicator.allgatherv(myLeaves)
        // Which of my particles each other rank needs, found with a tree over my particles alone.
        let localTree = OctTree(positions: positions, keys: keys, coordinates: coordinates, particleMass: 1)
        var sent: [Int] = []
        var sendCounts = [Int](repeating: 0, count: ranks)
        var offset = 0
        var mark = [Int](repeating: -1, count: positions.count)
        for rank in 0..<ranks {
            defer { offset += counts[rank] }
            guard rank != communicator.rank else { continue }
            for leafIndex in allLeaves[offset..<(offset + counts[rank])] {
                let leaf = domain.leaves[Int(leafIndex)]
                for j in localTree.particles(near: leaf.corner, extent: SIMD3(repeating: leaf.side), radius: radius)
                where mark[j] != rank {
                    mark[j] = rank
                    sent.append(j)
                    sendCounts[rank] += 1
                }
            }
        }
        let ghosts = communicator.alltoallv(sent.map { positions[$0] }, sendCounts: sendCounts)
        let received = communicator.alltoall(sendCounts)
        let owners = received.enumerated().flatMap { [Int](repeating: $0.offset, count: $0.element) }
        return (GhostExchange(sentIndices: sent, sendCounts: sendCounts, ghostOwners: owners), ghosts)
    }

    /// Sends a value for each particle that was sent as a ghost, and returns
    /// the values for this rank's ghosts, in ghost order. Collective.
    public func forward<T: BitwiseCopyable>(_ values: [T], communicator: Communicator) -> [T] {
        guard communicator.size > 1 else { return [] }
        return communicator.alltoallv(sentIndices.map { values[$0] }, sendCounts: sendCounts)
    }
}

extension Domain {
    /// The index of the top-level leaf holding `key`.
    public func leafIndex(ofKey key: UInt64) -> Int {
        var lo = 0, hi = leaves.count
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if leaves[mid].firstKey <= key { lo = mid } else { hi = mid }
        }
        return lo
    }
}
