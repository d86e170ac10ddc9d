import Foundation

/// What g4sim writes to `OutputDir/progress.json` while it runs (replaced
/// atomically) and what the sync loop and the API read back: the one
/// definition of that file, used by the solver, the backends, the routes and
/// the tests.
public struct SolverProgress: Codable, Sendable, Equatable {
    /// `running`, `finished`, or `interrupted` (stopped with restart files written).
    public var state: String
    public var step: Int?
    public var scaleFactor: Double?
    public var redshift: Double?
    /// 0...1, in ln a (the integrator's timeline).
    public var fractionDone: Double?
    public var elapsedSeconds: Double?
    public var etaSeconds: Double?
    public var particlesPerSecond: Double?
    public var lastSnapshot: String?
    /// The largest resident set of any rank so far (MB), for memory-aware resubmission.
    public var peakMemoryMB: Double?
    /// ISO 8601.
    public var updated: String?

    public init(state: String, step: Int? = nil, scaleFactor: Double? = nil, redshift: Double? = nil,
                fractionDone: Double? = nil, elapsedSeconds: Double? = nil, etaSeconds: Double? = nil,
                particlesPerSecond: Double? = nil, lastSnapshot: String? = nil, peakMemoryMB: Double? = nil,
                updated: String? = nil) {
        self.state = state
        self.step = step
        self.scaleFactor = scaleFactor
        self.redshift = redshift
        self.fractionDone = fractionDone
        self.elapsedSeconds = elapsedSeconds
        self.etaSeconds = etaSeconds
        self.particlesPerSecond = particlesPerSecond
        self.lastSnapshot = lastSnapshot
        self.peakMemoryMB = peakMemoryMB
        self.updated = updated
    }

    enum CodingKeys: String, CodingKey {
        case state, step, redshift, updated
        case scaleFactor = "scale_factor"
        case fractionDone = "fraction_done"
        case elapsedSeconds = "elapsed_seconds"
        case etaSeconds = "eta_seconds"
        case particlesPerSecond = "particles_per_second"
        case lastSnapshot = "last_snapshot"
        case peakMemoryMB = "peak_memory_mb"
    }

    /// Progress in percent (0-100), when the solver reported a fraction.
    public var percent: Double? { fractionDone.map { min(100, max(0, $0 * 100)) } }

    /// The file's JSON (sorted keys, nulls written out, one line).
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = (try? encoder.encode(NullWritingProgress(self))) ?? Data()
        data.append(0x0A)
        return data
    }

    public static func decode(_ data: Data) -> SolverProgress? {
        try? JSONDecoder().decode(SolverProgress.self, from: data)
    }

    /// Reads the file; nil when it does not exist (yet) or is not this JSON.
    public static func read(_ url: URL) -> SolverProgress? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return decode(data)
    }
}

/// Writes absent values as `null`, so every key is always in the file.
private struct NullWritingProgress: Encodable {
    let progress: SolverProgress
    init(_ p: SolverProgress) { progress = p }

    func encode(to encoder: any Encoder) throws {
        typealias K = SolverProgress.CodingKeys
        var c = encoder.container(keyedBy: K.self)
        let p = progress
        try c.encode(p.state, forKey: .state)
        try c.encode(p.step, forKey: .step)
        try c.encode(p.scaleFactor, forKey: .scaleFactor)
        try c.encode(p.redshift, forKey: .redshift)
        try c.encode(p.fractionDone, forKey: .fractionDone)
        try c.encode(p.elapsedSeconds, forKey: .elapsedSeconds)
        try c.encode(p.etaSeconds, forKey: .etaSeconds)
        try c.encode(p.particlesPerSecond, forKey: .particlesPerSecond)
        try c.encode(p.lastSnapshot, forKey: .lastSnapshot)
        try c.encode(p.peakMemoryMB, forKey: .peakMemoryMB)
        try c.encode(p.updated, forKey: .updated)
    }
}
