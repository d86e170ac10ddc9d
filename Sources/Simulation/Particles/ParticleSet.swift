/// The dark-matter particles this rank owns, as parallel arrays (struct of
/// arrays) so that hot loops stream only what they use.
///
/// Velocities are GADGET's canonical momentum per unit mass, p = a² dx/dt
/// (comoving x): drifts multiply it by ∫dt/a², kicks add g ∫dt/a.
public struct ParticleSet: Sendable {
    public var position: [IntegerPosition] = []
    public var momentum: [SIMD3<Double>] = []
    /// Comoving gravitational acceleration g = −∇φ of the last force computation.
    public var acceleration: [SIMD3<Double>] = []
    public var id: [UInt64] = []
    /// Power-of-two time bin: the step is 2^bin ticks of the integer timeline.
    public var timeBin: [UInt8] = []
    /// Start of the particle's current step on the integer timeline.
    public var stepStart: [Int64] = []
    /// Interactions of the last force computation: the work measure that
    /// balances domains.
    public var cost: [Float] = []

    public init() {}

    public var count: Int { id.count }

    public mutating func reserve(_ n: Int) {
        position.reserveCapacity(n); momentum.reserveCapacity(n); acceleration.reserveCapacity(n)
        id.reserveCapacity(n); timeBin.reserveCapacity(n); stepStart.reserveCapacity(n); cost.reserveCapacity(n)
    }

    public mutating func append(_ r: ParticleRecord) {
        position.append(r.position); momentum.append(r.momentum); acceleration.append(r.acceleration)
        id.append(r.id); timeBin.append(r.timeBin); stepStart.append(r.stepStart); cost.append(r.cost)
    }

    public func record(_ i: Int) -> ParticleRecord {
        ParticleRecord(position: position[i], momentum: momentum[i], acceleration: acceleration[i], id: id[i],
                       stepStart: stepStart[i], cost: cost[i], timeBin: timeBin[i])
    }

    /// Rebuilds the set from records (after an exchange), in the given order.
    public init(records: [ParticleRecord]) {
        reserve(records.count)
        for r in records { append(r) }
    }

    /// Reorders every array by `order` (new index i takes old index order[i]).
    public mutating func permute(_ order: [Int]) {
        position = order.map { position[$0] }
        momentum = order.map { momentum[$0] }
        acceleration = order.map { acceleration[$0] }
        id = order.map { id[$0] }
        timeBin = order.map { timeBin[$0] }
        stepStart = order.map { stepStart[$0] }
        cost = order.map { cost[$0] }
    }
}

/// One particle with all its state, for moving particles between ranks
/// and into restart files.
public struct ParticleRecord: Sendable, Equatable, BitwiseCopyable {
    public var position: IntegerPosition
    public var momentum: SIMD3<Double>
    public var acceleration: SIMD3<Double>
    public var id: UInt64
    public var stepStart: Int64
    public var cost: Float
    public var timeBin: UInt8

    public init(position: IntegerPosition, momentum: SIMD3<Double>, acceleration: SIMD3<Double> = .zero, id: UInt64,
                stepStart: Int64 = 0, cost: Float = 1, timeBin: UInt8 = 0) {
        self.position = position
        self.momentum = momentum
        self.acceleration = acceleration
        self.id = id
        self.stepStart = stepStart
        self.cost = cost
        self.timeBin = timeBin
    }
}
