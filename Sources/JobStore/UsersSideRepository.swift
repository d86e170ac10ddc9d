import Jobs

/// Storage of uploads (files users give jobs to read).
public protocol UploadRepository: Sendable {
    func insertUpload(_ upload: Upload) async throws
    /// The upload, if it exists and `owner` (nil: any owner) may see it.
    func upload(id: String, owner: String?) async throws -> Upload?
    /// Newest first.
    func uploads(owner: String?, limit: Int) async throws -> [Upload]
}

/// Storage of parameter sweeps.
public protocol SweepRepository: Sendable {
    /// Stores the sweep and all its jobs in one transaction (all or none).
    func insertSweep(_ sweep: Sweep, jobs: [Job]) async throws -> [Job]
    func sweep(id: String, owner: String?) async throws -> Sweep?
    /// Newest first.
    func sweeps(owner: String?, limit: Int) async throws -> [Sweep]
    /// The sweep's jobs in point order (without the large texts).
    func jobs(inSweep id: String) async throws -> [Job]
}
