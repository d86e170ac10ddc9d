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
    /// the cubes holding that rank's `interesting` particles; returns the
    /// exchange and the ghosts' positions. A cube is the particle's top-level
    /// leaf, or, where that leaf is smaller, its whole octree cell at
    /// `cellLevel`: then a caller can rely on having everything within
    /// `radius` of that cell. Collective.
    public static func exchange(positions: [IntegerPosition], keys: [UInt64], interesting: [Int], domain: Domain,
                                cellLevel: Int? = nil, radius: Double, coordinates: IntegerCoordinates,
                                communicator: Communicator) -> (GhostExchange, [IntegerPosition]) {
        let ranks = communicator.size
        guard ranks > 1 else {
            return (GhostExchange(sentIndices: [], sendCounts: [0], ghostOwners: []), [])
        }
        // Cubes as (first key, level) pairs.
        var occupied = Set<SIMD2<UInt64>>()
        for t in interesting {
            let leafLevel = domain.leaves[domain.leafIndex(ofKey: keys[t])].level
            let level = min(leafLevel, cellLevel ?? leafLevel)
            let shift = UInt64(3 * (PeanoHilbert.bitsPerDimension - level))
            occupied.insert(SIMD2((keys[t] >> shift) << shift, UInt64(level)))
        }
        let myCubes = occupied.sorted { $0.x != $1.x ? $0.x < $1.x : $0.y < $1.y }.flatMap { [$0.x, $0.y] }
        let counts = communicator.allgather(myCubes.count)
        let allCubes = communicator.allgatherv(myCubes)
        // Which of my particles each other rank needs, found with a tree over my particles alone.
        let localTree = OctTree(positions: positions, keys: keys, coordinates: coordinates, particleMass: 1)
        var sent: [Int] = []
        var sendCounts = [Int](repeating: 0, count: ranks)
        var offset = 0
        for rank in 0..<ranks {
            defer { offset += counts[rank] }
            guard rank != communicator.rank else { continue }
            let cubes = stride(from: offset, to: offset + counts[rank], by: 2).map { c in
                let cube = TopLeaf(firstKey: allCubes[c], level: Int(allCubes[c + 1]), owner: rank, count: 0)
                return (corner: cube.corner, side: cube.side)
            }
            let needed = localTree.particles(nearAny: cubes, radius: radius)
            sent += needed
            sendCounts[rank] = needed.count
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
