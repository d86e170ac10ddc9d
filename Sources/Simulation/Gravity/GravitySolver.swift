import Parallel

/// TreePM gravity for the particles of all ranks: the mesh for the long
/// range, and for the short range a tree over this rank's particles plus the
/// "ghost" particles of other ranks that lie within the cut-off of any cube
/// holding one of this rank's targets.
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
        let ghosts = importGhosts(particles: particles, keys: keys, targets: targets, domain: domain)
        timings.ghosts = clock.lap()
        var merged = zip(particles.position, keys).map { ($0.0, $0.1, Int32(-1)) }
        merged.reserveCapacity(particles.count + ghosts.count)
        var isTarget = [Bool](repeating: false, count: particles.count)
        for t in targets { isTarget[t] = true }
        for (i, g) in ghosts.enumerated() { merged.append((g, PeanoHilbert.key(g), Int32(i))) }
        // Stable merge order: local particles keep their key order; ghosts slot in by key.
        let localCount = particles.count
        var order = Array(0..<merged.count)
        order.sort { merged[$0].1 != merged[$1].1 ? merged[$0].1 < merged[$1].1 : $0 < $1 }
        let tree = OctTree(positions: order.map { merged[$0].0 }, keys: order.map { merged[$0].1 },
                           coordinates: coordinates, particleMass: particleMass, leafCapacity: leafCapacity)
        timings.treeBuild = clock.lap()
        var treeIndexOfLocal = [Int](repeating: -1, count: localCount)
        for (treeIndex, original) in order.enumerated() where original < localCount { treeIndexOfLocal[original] = treeIndex }
        let treeTargets = targets.map { treeIndexOfLocal[$0] }
        let oldAcceleration = targets.map { (particles.acceleration[$0] * particles.acceleration[$0]).sum().squareRoot() }
        let walk = ShortRangeWalk(tree: tree, split: split, softeningRadius: softeningRadius, criterion: criterion)
        let (shortRange, interactions) = walk.accelerations(targets: treeTargets, oldAcceleration: oldAcceleration)
        timings.treeWalk = clock.lap()
        var total = 0
        for (i, t) in targets.enumerated() {
            particles.acceleration[t] = longRange[i] + shortRange[i]
            particles.cost[t] = Float(max(interactions[i], 1))
            total += interactions[i]
        }
        return total
    }

    /// Positions of other ranks' particles within the short-range cut-off of
    /// any top-level cube that holds one of this rank's targets now.
    func importGhosts(particles: ParticleSet, keys: [UInt64], targets: [Int], domain: Domain) -> [IntegerPosition] {
        GhostExchange.exchange(positions: particles.position, keys: keys, interesting: targets, domain: domain,
                               radius: split.cutoff, coordinates: coordinates, communicator: communicator).1
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
