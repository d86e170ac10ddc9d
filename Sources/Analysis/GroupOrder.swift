import Parallel
import Simulation

/// GADGET-4 writes a snapshot made with a group catalogue in group order:
/// the particles of group 0 (the largest) first, then group 1, ..., then the
/// particles in no group, so `GroupOffsetType` indexes the snapshot.
public enum GroupOrder {
    /// Each group's first index in the ordered snapshot.
    public static func offsets(_ fof: FriendsOfFriends) -> [Int64] {
        var running: Int64 = 0
        return fof.groups.map { g in defer { running += Int64(g.length) }; return running }
    }

    /// This rank's contiguous share of all particles in group order (rank r
    /// holds the r-th of `size` equal pieces, as the snapshot writer expects).
    /// Within a group, and among ungrouped particles, order is by ID. Collective.
    public static func arrange(_ particles: ParticleSet, fof: FriendsOfFriends, communicator: Communicator) -> ParticleSet {
        let groupCount = fof.groups.count
        let ranks = communicator.size
        let total = communicator.allreduce(particles.count, .sum)
        // Where this rank's members of each group start inside the group.
        var counts = [Int](repeating: 0, count: groupCount + 1)  // last slot: ungrouped
        for g in fof.groupOfParticle { counts[g >= 0 ? g : groupCount] += 1 }
        let everyone = communicator.allgatherv(counts)
        var firstOfMine = [Int](repeating: 0, count: groupCount + 1)
        for r in 0..<communicator.rank {
            for g in 0...groupCount { firstOfMine[g] += everyone[r * (groupCount + 1) + g] }
        }
        let groupStart = offsets(fof).map(Int.init) + [fof.groups.reduce(0) { $0 + $1.length }]
        // Global index of each local particle.
        let order = (0..<particles.count).sorted { particles.id[$0] < particles.id[$1] }
        var next = firstOfMine
        var index = [Int](repeating: 0, count: particles.count)
        for i in order {
            let g = fof.groupOfParticle[i] >= 0 ? fof.groupOfParticle[i] : groupCount
            index[i] = groupStart[g] + next[g]
            next[g] += 1
        }
        // Send each particle to the rank whose even share holds its index.
        struct Indexed: BitwiseCopyable { var index: Int; var record: ParticleRecord }
        var buckets = [[Indexed]](repeating: [], count: ranks)
        let starts = (0...ranks).map { Int((Int64(total) * Int64($0)) / Int64(ranks)) }
        for i in 0..<particles.count {
            var lo = 0, hi = ranks
            while hi - lo > 1 { let mid = (lo + hi) / 2; if starts[mid] <= index[i] { lo = mid } else { hi = mid } }
            buckets[lo].append(Indexed(index: index[i], record: particles.record(i)))
        }
        let received = communicator.alltoallv(buckets.flatMap { $0 }, sendCounts: buckets.map(\.count))
        return ParticleSet(records: received.sorted { $0.index < $1.index }.map(\.record))
    }
}
