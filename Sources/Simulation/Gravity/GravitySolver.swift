import Parallel

/// TreePM gravity for the particles of all ranks: the mesh for the long
/// range, and for the short range a tree over this rank's particles plus the
/// "ghost" particles of other ranks that lie within the walk's acceptance
/// radius of any cell holding one of this rank's targets. Both parts give
/// the same bits on any number of ranks (see `DistributedFFT`,
/// `CloudInCell.assign` and `ShortRangeWalk`).
public final class GravitySolver {
    public let coordinates: IntegerCoordinates
    public let split: ForceSplit
    public let mesh: ParticleMesh
    public let particleMass: Double
    public let communicator: Communicator
    public let leafCapacity: Int

    /// Time spent in each part of the last computation (seconds).
    public private(set) var timings = ForceTimings()

    public init(coordinates: IntegerCoordinates, gravity: Double, particleMass: Double, meshSize: Int,
                asmth: Double, rcut: Double, communicator: Communicator, leafCapacity: Int = 16) {
        self.coordinates = coordinates
        split = ForceSplit(gravity: gravity, boxSize: coordinates.boxSize, meshSize: meshSize, asmth: asmth, rcut: rcut)
        mesh = ParticleMesh(meshSize: meshSize, coordinates: coordinates, gravity: gravity,
                            splitScale: split.splitScale, communicator: communicator)
        self.particleMass = particleMass
        self.communicator = communicator
        self.leafCapacity = leafCapacity
    }

    /// Total accelerations (long + short range) of the particles `targets`
    /// of `particles`, which must be sorted by key (see `ParticleSet.sortByKey`).
    /// Stores them in `particles.acceleration`, the interaction counts in
    /// `particles.cost`, and returns the number of interactions. Collective.
    @discardableResult
    public func computeAccelerations(_ particles: inout ParticleSet, keys: [UInt64], targets: [Int], domain: Domain,
                                     softeningRadius: Double, criterion: OpeningCriterion) -> Int {
        var clock = MPIClock()
        let longRange = mesh.accelerations(positions: particles.position, particleMass: particleMass, targets: targets)
        timings.mesh = clock.lap()

        // Short range: this rank's particles plus ghosts, in one key-sorted tree.
        let walkLevel = ShortRangeWalk.groupLevel(split, boxSize: coordinates.boxSize)
        let (exchange, ghosts) = GhostExchange.exchange(
            positions: particles.position, keys: keys, interesting: targets, domain: domain, cellLevel: walkLevel,
            radius: ShortRangeWalk.acceptanceRadius(split), coordinates: coordinates, communicator: communicator)
        // |a| of the previous step for active particles, −1 for the others, ghosts included.
        var activity = [Double](repeating: -1, count: particles.count)
        for t in targets { activity[t] = (particles.acceleration[t] * particles.acceleration[t]).sum().squareRoot() }
        activity += exchange.forward(activity, communicator: communicator)
        timings.ghosts = clock.lap()
        let positions = particles.position + ghosts
        let allKeys = keys + ghosts.map(PeanoHilbert.key)
        // Key order, ties by position: the same order whichever rank holds the particles.
        let order = (0..<positions.count).sorted {
            let (a, b) = (allKeys[$0], allKeys[$1])
            if a != b { return a < b }
            let (p, q) = (positions[$0], positions[$1])
            return p.x != q.x ? p.x < q.x : (p.y != q.y ? p.y < q.y : p.z < q.z)
        }
        let tree = OctTree(positions: order.map { positions[$0] }, keys: order.map { allKeys[$0] },
                           coordinates: coordinates, particleMass: particleMass, leafCapacity: leafCapacity)
        timings.treeBuild = clock.lap()
        var treeIndex = [Int](repeating: -1, count: positions.count)
        for (index, original) in order.enumerated() { treeIndex[original] = index }
        let walk = ShortRangeWalk(tree: tree, split: split, softeningRadius: softeningRadius, criterion: criterion)
        let (shortRange, interactions) = walk.accelerations(targets: targets.map { treeIndex[$0] },
                                                            activity: order.map { activity[$0] })
        timings.treeWalk = clock.lap()
        var total = 0
        for (i, t) in targets.enumerated() {
            particles.acceleration[t] = longRange[i] + shortRange[i]
            particles.cost[t] = Float(max(interactions[i], 1))
            total += interactions[i]
        }
        return total
    }
}

/// Seconds spent in the parts of one force computation on this rank.
public struct ForceTimings: Sendable {
    public var mesh = 0.0
    public var ghosts = 0.0
    public var treeBuild = 0.0
    public var treeWalk = 0.0
}

/// Wall-clock laps.
struct MPIClock {
    private var last = MPIRuntime.wallTime()
    mutating func lap() -> Double {
        let now = MPIRuntime.wallTime()
        defer { last = now }
        return now - last
    }
}
