import Foundation
import Parallel
import Simulation

/// One friends-of-friends group of the catalogue.
public struct FoFGroup: Sendable, Equatable, BitwiseCopyable {
    /// Smallest particle ID in the group: a name that does not depend on ranks.
    public var label: UInt64
    public var length: Int
    public var mass: Double
    /// Centre of mass (periodic, in [0, L)).
    public var position: SIMD3<Double>
    /// Mean canonical momentum a² dx/dt = a · v_peculiar (GADGET-4's GroupVel).
    public var velocity: SIMD3<Double>
}

/// GADGET-4's friends-of-friends groups: particles closer than b times the
/// mean interparticle spacing are friends, groups are the connected sets of
/// at least `minimumLength` particles, ordered by length (largest first, ties
/// by smallest ID).
///
/// In parallel: each rank links its particles and ghost copies of its
/// neighbours' particles within one linking length; component labels (the
/// smallest ID) are then exchanged along ghost links until no label changes,
/// which joins groups that span any number of ranks.
public struct FriendsOfFriends: Sendable {
    /// Catalogue, identical on every rank.
    public var groups: [FoFGroup]
    /// For each local particle, its group's index in `groups`, or −1.
    public var groupOfParticle: [Int]
    public var linkingLength: Double

    /// Finds the groups of `particles`, which must have gone through a
    /// domain decomposition (`domain`) and be sorted by key. Collective.
    public static func find(particles: ParticleSet, keys: [UInt64], domain: Domain, particleMass: Double,
                            totalParticles: Int, linkingParameter: Double, minimumLength: Int,
                            coordinates: IntegerCoordinates, communicator: Communicator) -> FriendsOfFriends {
        let link = linkingParameter * coordinates.boxSize / pow(Double(totalParticles), 1.0 / 3.0)
        let local = particles.count
        let (ghosts, ghostPositions) = GhostExchange.exchange(
            positions: particles.position, keys: keys, interesting: Array(0..<local), domain: domain, radius: link,
            coordinates: coordinates, communicator: communicator)
        let ghostIDs = ghosts.forward(particles.id, communicator: communicator)

        // Links among local and ghost particles, in one tree.
        let all = particles.position + ghostPositions
        let allKeys = keys + ghostPositions.map(PeanoHilbert.key)
        let order = allKeys.indices.sorted { allKeys[$0] < allKeys[$1] }
        let tree = OctTree(positions: order.map { all[$0] }, keys: order.map { allKeys[$0] }, coordinates: coordinates, particleMass: 1)
        var components = UnionFind(count: all.count)
        for (treeIndex, original) in order.enumerated() where original < local {
            for neighbour in tree.particles(near: tree.positions[treeIndex], extent: SIMD3(1, 1, 1), radius: link) {
                components.union(original, order[neighbour])
            }
        }

        // Labels: the smallest ID in each component, spread across ranks through the ghosts.
        var label = particles.id + ghostIDs
        while true {
            var smallest = [UInt64](repeating: .max, count: all.count)
            for i in 0..<all.count { let r = components.find(i); smallest[r] = min(smallest[r], label[i]) }
            var changed = 0
            for i in 0..<local {
                let l = smallest[components.find(i)]
                if l != label[i] { label[i] = l; changed += 1 }
            }
            let ghostLabels = ghosts.forward(Array(label[0..<local]), communicator: communicator)
            for (g, l) in ghostLabels.enumerated() where label[local + g] != l {
                label[local + g] = l
                changed += 1
            }
            if communicator.allreduce(changed, .sum) == 0 { break }
        }
        let localLabels = Array(label[0..<local])

        // Properties: every particle goes to the rank that owns its label (label mod ranks).
        struct Member: BitwiseCopyable { var label: UInt64; var position: IntegerPosition; var momentum: SIMD3<Double> }
        let ranks = communicator.size
        var buckets = [[Member]](repeating: [], count: ranks)
        for i in 0..<local {
            buckets[Int(localLabels[i] % UInt64(ranks))].append(Member(label: localLabels[i], position: particles.position[i],
                                                                      momentum: particles.momentum[i]))
        }
        let members = communicator.alltoallv(buckets.flatMap { $0 }, sendCounts: buckets.map(\.count))
        var byLabel: [UInt64: [Member]] = [:]
        for m in members { byLabel[m.label, default: []].append(m) }
        var found: [FoFGroup] = []
        for (l, group) in byLabel where group.count >= minimumLength {
            // Centre of mass relative to the first member (groups are far smaller than half the box).
            let origin = group[0].position
            var offset = SIMD3<Double>.zero, momentum = SIMD3<Double>.zero
            for m in group {
                offset += coordinates.separation(from: origin, to: m.position)
                momentum += m.momentum
            }
            let centre = coordinates.real(coordinates.moved(origin, by: offset / Double(group.count)))
            found.append(FoFGroup(label: l, length: group.count, mass: Double(group.count) * particleMass,
                                  position: centre, velocity: momentum / Double(group.count)))
        }
        var groups = communicator.allgatherv(found)
        groups.sort { (a: FoFGroup, b: FoFGroup) -> Bool in a.length != b.length ? a.length > b.length : a.label < b.label }
        var index: [UInt64: Int] = [:]
        for (i, g) in groups.enumerated() { index[g.label] = i }
        return FriendsOfFriends(groups: groups, groupOfParticle: localLabels.map { index[$0] ?? -1 }, linkingLength: link)
    }
}

/// Disjoint sets with path halving and union by size.
struct UnionFind {
    private var parent: [Int]
    private var size: [Int]

    init(count: Int) {
        parent = Array(0..<count)
        size = [Int](repeating: 1, count: count)
    }

    mutating func find(_ x: Int) -> Int {
        var x = x
        while parent[x] != x {
            parent[x] = parent[parent[x]]
            x = parent[x]
        }
        return x
    }

    mutating func union(_ a: Int, _ b: Int) {
        var ra = find(a), rb = find(b)
        if ra == rb { return }
        if size[ra] < size[rb] { swap(&ra, &rb) }
        parent[rb] = ra
        size[ra] += size[rb]
    }
}
