import Parallel

/// A cube of the top-level tree: the key interval [firstKey, firstKey + 8^(21−level))
/// of the Peano–Hilbert curve, which is one octree cell of side 2^(32−level) integer units.
public struct TopLeaf: Sendable, Equatable, BitwiseCopyable {
    public var firstKey: UInt64
    public var level: Int
    public var owner: Int
    /// Particles in the leaf at the time of the decomposition.
    public var count: Int

    public var keyCount: UInt64 { 1 << UInt64(3 * (PeanoHilbert.bitsPerDimension - level)) }
    /// The cube's lower corner. The curve enters a cube at one of its eight
    /// corners, not necessarily the lowest, so the first key's cell is masked
    /// down to the cube.
    public var corner: IntegerPosition {
        let mask = level == 0 ? UInt32(0) : ~UInt32(0) << UInt32(32 - level)
        return PeanoHilbert.position(firstKey) & IntegerPosition(repeating: mask)
    }
    /// Side in integer units, 2^(32−level) (0 stands for the whole box, 2³²).
    public var side: UInt64 { 1 << UInt64(32 - level) }
}

/// Which rank owns which part of space: the Peano–Hilbert curve cut into
/// one contiguous piece per rank, the cuts falling between top-level cubes
/// chosen so that each rank gets an equal share of work and of particles.
public struct Domain: Sendable {
    public let leaves: [TopLeaf]
    /// First key of each rank's piece; rank r owns [rankStart[r], rankStart[r+1]).
    public let rankStart: [UInt64]

    /// The rank that owns `key`.
    @inline(__always)
    public func owner(ofKey key: UInt64) -> Int {
        var lo = 0, hi = rankStart.count  // last r with rankStart[r] <= key
        while hi - lo > 1 {
            let mid = (lo + hi) / 2
            if rankStart[mid] <= key { lo = mid } else { hi = mid }
        }
        return lo
    }

    /// The non-empty top-level cubes of `rank`.
    public func cubes(of rank: Int) -> [TopLeaf] { leaves.filter { $0.owner == rank && $0.count > 0 } }

    /// Builds the top-level tree from every rank's keys and loads and cuts it.
    ///
    /// A leaf is split into its 8 children while it holds more than
    /// 1/(16 · TopNodeFactor · ranks) of the total load or of the particles,
    /// so rank boundaries can fall within a few per cent of the ideal cut.
    /// `sortedKeys` must be sorted; `load[i]` belongs to `sortedKeys[i]`.
    public static func decompose(sortedKeys: [UInt64], load: [Double], topNodeFactor: Double,
                                 communicator: Communicator) -> Domain {
        let ranks = communicator.size
        let totalCount = Double(communicator.allreduce(sortedKeys.count, .sum))
        let totalLoad = communicator.allreduce(load.reduce(0, +), .sum)
        // Prefix sums of load so any key interval's load is two binary searches.
        var prefix = [Double](repeating: 0, count: load.count + 1)
        for i in load.indices { prefix[i + 1] = prefix[i] + load[i] }
        let granularity = 16 * max(topNodeFactor, 1) * Double(ranks)
        var leaves = [TopLeaf(firstKey: 0, level: 0, owner: 0, count: 0)]
        var loads = [Double](repeating: 0, count: 1)
        while true {
            var counts = [Double](repeating: 0, count: leaves.count * 2)
            for (i, leaf) in leaves.enumerated() {
                let lo = lowerBound(sortedKeys, leaf.firstKey)
                let hi = leaf.firstKey &+ leaf.keyCount == 0 || leaf.level == 0 ? sortedKeys.count : lowerBound(sortedKeys, leaf.firstKey + leaf.keyCount)
                counts[2 * i] = Double(hi - lo)
                counts[2 * i + 1] = prefix[hi] - prefix[lo]
            }
            communicator.allreduceInPlace(&counts, .sum)
            var next: [TopLeaf] = []
            var nextLoads: [Double] = []
            var split = false
            for (i, leaf) in leaves.enumerated() {
                let n = counts[2 * i], w = counts[2 * i + 1]
                let heavy = n / max(totalCount, 1) > 1 / granularity || w / max(totalLoad, 1e-300) > 1 / granularity
                if heavy && n > 1 && leaf.level < PeanoHilbert.bitsPerDimension {
                    split = true
                    let childKeys = leaf.keyCount / 8
                    for c in 0..<8 {
                        next.append(TopLeaf(firstKey: leaf.firstKey + UInt64(c) * childKeys, level: leaf.level + 1, owner: 0, count: 0))
                        nextLoads.append(0)
                    }
                } else {
                    next.append(TopLeaf(firstKey: leaf.firstKey, level: leaf.level, owner: 0, count: Int(n)))
                    nextLoads.append(w)
                }
            }
            leaves = next
            loads = nextLoads
            if !split { break }
        }
        // Cut the leaf sequence where the mixed share (half load, half particles) crosses r/ranks.
        var rankStart = [UInt64](repeating: 0, count: ranks)
        var cumulative = 0.0
        var rank = 0
        for i in leaves.indices {
            let share = 0.5 * loads[i] / max(totalLoad, 1e-300) + 0.5 * Double(leaves[i].count) / max(totalCount, 1)
            // Move to the next rank when this leaf's midpoint lies past the next cut.
            while rank + 1 < ranks && cumulative + 0.5 * share > Double(rank + 1) / Double(ranks) {
                rank += 1
                rankStart[rank] = leaves[i].firstKey
            }
            leaves[i].owner = rank
            cumulative += share
        }
        // Ranks that got no leaf start at the end of the curve (they own nothing).
        for r in stride(from: rank + 1, to: ranks, by: 1) { rankStart[r] = UInt64.max }
        return Domain(leaves: leaves, rankStart: rankStart)
    }

    /// First index i with keys[i] >= key.
    @inline(__always)
    static func lowerBound(_ keys: [UInt64], _ key: UInt64) -> Int {
        var lo = 0, hi = keys.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if keys[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
