import Cosmology
import Foundation
import Parallel

/// The run-time choices of the integrator, under GADGET-4's names.
public struct IntegratorSettings: Sendable {
    public var errTolIntAccuracy = 0.025
    public var maxSizeTimestep = 0.025
    public var minSizeTimestep = 0.0
    public var softeningComoving = 0.01
    public var softeningMaxPhysical = 0.01
    public var errTolForceAcc = 0.005
    public var errTolTheta = 0.5
    public var errTolThetaMax = 1.0
    /// 1: GADGET's relative opening criterion after the first force computation.
    public var relativeOpeningCriterion = true
    public var activePartFracForNewDomainDecomp = 0.01
    public var topNodeFactor = 3.0

    public init() {}
}

/// Comoving kick-drift-kick leapfrog with individual power-of-two time steps
/// (GADGET's hierarchical time bins). At each synchronisation point all
/// particles are drifted, the active ones (whose step ends there) get new
/// TreePM forces, the second half of their old kick, a new step, and the
/// first half of the new kick.
public final class Integrator {
    public private(set) var particles: ParticleSet
    public private(set) var tick: Int64 = 0
    public private(set) var steps = 0
    public private(set) var domainDecompositions = 0
    public private(set) var totalInteractions = 0
    /// Particle force evaluations on this rank (one per active particle per force computation).
    public private(set) var forceEvaluations = 0
    /// Particles (all ranks) that got new forces in the last step.
    public private(set) var lastActiveCount = 0
    public let timeline: Timeline
    public let factors: LeapfrogFactors
    public let gravity: GravitySolver
    public let settings: IntegratorSettings
    public let communicator: Communicator
    public let totalParticles: Int
    private var domain: Domain
    private var keys: [UInt64] = []
    /// Where the box's origin sits in the particles' stored positions: a new
    /// random offset at every domain decomposition (GADGET-4's
    /// RANDOMIZE_DOMAINCENTER), so the PM mesh and the tree do not keep one
    /// alignment with the particles. Without it the initial lattice sits on
    /// mesh nodes, where CIC deconvolution overcorrects, and the z = 0 power
    /// near the split scale came out 1.1–1.5 % above GADGET-4's. Outputs and
    /// restart files hold unshifted positions.
    private var shift = IntegerPosition.zero
    private var relativeCriterionReady = false
    /// Seconds spent in domain decomposition and in the force parts, summed over the run.
    public private(set) var timings = RunTimings()

    public convenience init(particles: ParticleSet, timeline: Timeline, background: Background, gravity: GravitySolver,
                            settings: IntegratorSettings, communicator: Communicator) {
        let fresh = IntegratorState(tick: 0, steps: 0, domainDecompositions: 0, relativeCriterionReady: false,
                                    domain: Domain(leaves: [], rankStart: []), particles: particles)
        self.init(restoring: fresh, keepDomain: false, timeline: timeline, background: background, gravity: gravity,
                  settings: settings, communicator: communicator)
    }

    /// Continues from a saved state. With the same ranks as when it was
    /// saved (`keepDomain`), the domain and every rank's particle order are
    /// restored, so the run continues bit for bit; otherwise the particles are
    /// decomposed anew over the present ranks.
    public init(restoring state: IntegratorState, keepDomain: Bool, timeline: Timeline, background: Background,
                gravity: GravitySolver, settings: IntegratorSettings, communicator: Communicator) {
        particles = state.particles
        self.timeline = timeline
        self.factors = LeapfrogFactors(timeline: timeline, background: background)
        self.gravity = gravity
        self.settings = settings
        self.communicator = communicator
        totalParticles = communicator.allreduce(particles.count, .sum)
        tick = state.tick
        steps = state.steps
        domainDecompositions = state.domainDecompositions
        relativeCriterionReady = state.relativeCriterionReady
        domain = state.domain
        shift = Self.shift(afterDecomposition: domainDecompositions)
        particles.translate(by: shift)
        if keepDomain {
            keys = particles.keys()
        } else if domainDecompositions == 0 {
            decompose()
        } else {
            // Resumed on another rank count: rebalance under the offset in force,
            // so the sequence of offsets goes on as in an uninterrupted run.
            redistribute()
        }
    }

    /// The offset that the n-th domain decomposition applies: the same on
    /// every rank, for every rank count, and again after a restart.
    static func shift(afterDecomposition n: Int) -> IntegerPosition {
        guard n > 0 else { return .zero }
        var state = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt32 {  // SplitMix64
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return UInt32(truncatingIfNeeded: (z ^ (z >> 31)) >> 32)
        }
        return IntegerPosition(next(), next(), next())
    }

    /// Everything needed to continue the run later (see `init(restoring:)`).
    public var state: IntegratorState {
        var unshifted = particles
        unshifted.translate(by: 0 &- shift)
        return IntegratorState(tick: tick, steps: steps, domainDecompositions: domainDecompositions,
                               relativeCriterionReady: relativeCriterionReady, domain: domain, particles: unshifted)
    }

    public var scaleFactor: Double { timeline.scaleFactor(tick) }
    public var isFinished: Bool { tick >= Timeline.ticks }

    /// Comoving softening ε at scale factor a, and the spline radius 2.8 ε.
    func softeningRadius(at a: Double) -> Double {
        2.8 * min(settings.softeningComoving, settings.softeningMaxPhysical / a)
    }

    /// A new domain decomposition with a new offset.
    private func decompose() {
        domainDecompositions += 1
        let next = Self.shift(afterDecomposition: domainDecompositions)
        particles.translate(by: next &- shift)
        shift = next
        redistribute()
    }

    private func redistribute() {
        let start = MPIRuntime.wallTime()
        (domain, keys) = particles.redistribute(topNodeFactor: settings.topNodeFactor, communicator: communicator)
        timings.domain += MPIRuntime.wallTime() - start
    }

    /// Forces at the start, steps for everyone, and the first half kick.
    /// The first force uses the geometric criterion; with the relative
    /// criterion in use, it is then recomputed with it (GADGET-4 does the same).
    public func start() {
        let all = Array(0..<particles.count)
        computeForces(all, criterion: .geometric(theta: settings.errTolTheta))
        if settings.relativeOpeningCriterion {
            relativeCriterionReady = true
            computeForces(all, criterion: currentCriterion)
        }
        for i in all { assignStepAndKickFirstHalf(i) }
    }

    private var currentCriterion: OpeningCriterion {
        relativeCriterionReady
            ? .relative(accuracy: settings.errTolForceAcc, thetaMax: settings.errTolThetaMax)
            : .geometric(theta: settings.errTolTheta)
    }

    private func computeForces(_ targets: [Int], criterion: OpeningCriterion) {
        forceEvaluations += targets.count
        totalInteractions += gravity.computeAccelerations(&particles, keys: keys, targets: targets, domain: domain,
                                                          softeningRadius: softeningRadius(at: scaleFactor), criterion: criterion)
        timings.add(gravity.timings)
    }

    /// The next tick at which some particle's step ends (all ranks agree).
    public func nextSynchronization() -> Int64 {
        var next = Timeline.ticks
        for i in 0..<particles.count { next = min(next, particles.stepStart[i] + (Int64(1) << Int64(particles.timeBin[i]))) }
        return communicator.allreduce(next, .min)
    }

    /// Moves every particle's position to tick `t` (no forces). Used both to
    /// reach the next synchronisation point and to stop at an output time.
    public func drift(to t: Int64) {
        precondition(t >= tick)
        let d = factors.drift(tick, t)
        if d != 0 {
            let coords = gravity.coordinates
            for i in 0..<particles.count { particles.position[i] = coords.moved(particles.position[i], by: particles.momentum[i] * d) }
        }
        tick = t
    }

    /// Advances to the next synchronisation point and completes the step there.
    public func step() {
        let next = nextSynchronization()
        drift(to: next)
        steps += 1
        // Particles whose step ends now.
        var activeCount = 0
        for i in 0..<particles.count where particles.stepStart[i] + (Int64(1) << Int64(particles.timeBin[i])) == tick {
            activeCount += 1
        }
        let globalActive = communicator.allreduce(activeCount, .sum)
        lastActiveCount = globalActive
        if Double(globalActive) > settings.activePartFracForNewDomainDecomp * Double(totalParticles) {
            decompose()
        } else {
            keys = particles.sortByKey()
        }
        let active = (0..<particles.count).filter { particles.stepStart[$0] + (Int64(1) << Int64(particles.timeBin[$0])) == tick }
        computeForces(active, criterion: currentCriterion)
        for i in active {
            // Second half of the old kick: from the middle of the step to now.
            let oldStep = Int64(1) << Int64(particles.timeBin[i])
            particles.momentum[i] += particles.acceleration[i] * factors.kick(particles.stepStart[i] + oldStep / 2, tick)
            if tick < Timeline.ticks { assignStepAndKickFirstHalf(i) } else { particles.stepStart[i] = tick }
        }
    }

    /// GADGET's criterion Δt = sqrt(2 η ε_phys / |a_phys|), converted to
    /// Δ ln a and capped by MaxSizeTimestep; the bin may grow only where the
    /// new step starts on a multiple of itself.
    private func assignStepAndKickFirstHalf(_ i: Int) {
        let a = scaleFactor
        let epsilonPhysical = a * softeningRadius(at: a) / 2.8
        let g = particles.acceleration[i]
        let accelerationPhysical = (g * g).sum().squareRoot() / (a * a)
        var logStep = settings.maxSizeTimestep
        if accelerationPhysical > 0 {
            let dt = (2 * settings.errTolIntAccuracy * epsilonPhysical / accelerationPhysical).squareRoot()
            logStep = min(logStep, dt * factors.background.hubble(a))
        }
        logStep = max(logStep, settings.minSizeTimestep)
        var bin = min(timeline.bin(forLogStep: logStep), timeline.bin(forLogStep: settings.maxSizeTimestep))
        let remaining = Timeline.ticks - tick
        while bin > 0 && (tick % (Int64(1) << Int64(bin)) != 0 || (Int64(1) << Int64(bin)) > remaining) { bin -= 1 }
        particles.timeBin[i] = UInt8(bin)
        particles.stepStart[i] = tick
        particles.momentum[i] += particles.acceleration[i] * factors.kick(tick, tick + (Int64(1) << Int64(bin)) / 2)
    }

    /// Momenta at the current tick: the stored ones are half a step ahead
    /// or behind; kick them with the last acceleration to now.
    public func synchronizedMomenta() -> [SIMD3<Double>] {
        (0..<particles.count).map { i in
            let middle = particles.stepStart[i] + (Int64(1) << Int64(particles.timeBin[i])) / 2
            return particles.momentum[i] + particles.acceleration[i] * factors.kick(middle, tick)
        }
    }

    /// The big structures of this rank and their sizes, for memory reports.
    public func memoryUse() -> [(name: String, megabytes: Double)] {
        let perParticle = Double(MemoryLayout<ParticleRecord>.stride + MemoryLayout<UInt64>.stride)
        let mesh = gravity.mesh
        return [
            ("particles (\(particles.count))", Double(particles.count) * perParticle / 1_048_576),
            ("PM mesh (\(mesh.n)³, slab part)", Double(mesh.fft.allocatedDoubles * 2 + 3 * mesh.fft.localPlanes * mesh.n * mesh.n) * 8 / 1_048_576),
        ]
    }

    /// A copy of the particles as they are now, for output: unshifted,
    /// momenta kicked to the current time, decomposed over the ranks as they
    /// lie in the box (collective).
    public func outputState() -> (particles: ParticleSet, keys: [UInt64], domain: Domain) {
        var copy = particles
        copy.momentum = synchronizedMomenta()
        copy.translate(by: 0 &- shift)
        let (outputDomain, keys) = copy.redistribute(topNodeFactor: settings.topNodeFactor, communicator: communicator)
        return (copy, keys, outputDomain)
    }

    /// The distribution of particles over time bins (global), for progress reports.
    public func binCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: Timeline.maxBin + 1)
        for b in particles.timeBin { counts[Int(b)] += 1 }
        return communicator.allreduce(counts, .sum)
    }
}

/// The integrator's state between steps, as restart files keep it.
public struct IntegratorState: Sendable {
    public var tick: Int64
    public var steps: Int
    public var domainDecompositions: Int
    public var relativeCriterionReady: Bool
    public var domain: Domain
    public var particles: ParticleSet

    public init(tick: Int64, steps: Int, domainDecompositions: Int, relativeCriterionReady: Bool, domain: Domain,
                particles: ParticleSet) {
        self.tick = tick
        self.steps = steps
        self.domainDecompositions = domainDecompositions
        self.relativeCriterionReady = relativeCriterionReady
        self.domain = domain
        self.particles = particles
    }
}

/// Where a run's time goes, summed over its steps (this rank).
public struct RunTimings: Sendable {
    public init() {}
    public var domain = 0.0
    public var mesh = 0.0
    public var ghosts = 0.0
    public var treeBuild = 0.0
    public var treeWalk = 0.0

    mutating func add(_ t: ForceTimings) {
        mesh += t.mesh
        ghosts += t.ghosts
        treeBuild += t.treeBuild
        treeWalk += t.treeWalk
    }
}
