import Jobs

/// Durable storage of jobs and API tokens. One protocol, two implementations
/// (`SQLiteJobRepository`, `PostgresJobRepository`), one shared test suite.
///
/// Every state change goes through `apply(_:to:changes:)`, a compare-and-set
/// on the current state, so concurrent writers (API, dispatcher, monitor)
/// can only ever make legal transitions.
public protocol JobRepository: UploadRepository, SweepRepository {
    /// Stores a new job durably (fsync'ed before returning). With an
    /// idempotency key already used by the same owner, returns that job instead.
    func insert(_ job: Job) async throws -> InsertOutcome
    /// The job, if it exists and `owner` (nil: any owner) may see it.
    func job(id: String, owner: String?) async throws -> Job?
    /// Newest first; keyset-paged by (created_at, id), stable under concurrent inserts.
    func list(_ query: JobQuery) async throws -> JobPage
    /// Applies a transition if the job is in one of its source states; nil when
    /// it is not (or the job does not exist).
    func apply(_ transition: Transition, to id: String, changes: JobChanges) async throws -> Job?
    /// Updates fields that are not state (progress, backend data).
    func update(_ id: String, changes: JobChanges) async throws
    /// Marks a non-terminal job for cancellation; returns the job as stored.
    func requestCancel(id: String) async throws -> Job?
    /// Jobs in the given states, oldest first (for the dispatcher and recovery).
    func jobs(in states: Set<JobState>, limit: Int) async throws -> [Job]
    /// Count of jobs per state.
    func countsByState() async throws -> [JobState: Int]

    func insertToken(hash: String, user: String, admin: Bool) async throws
    func principal(tokenHash: String) async throws -> Principal?
    /// A cheap query proving the store answers.
    func ping() async throws
    func close() async throws
}

public enum InsertOutcome: Sendable {
    case created(Job)
    /// The idempotency key was used before; this is that job.
    case existing(Job)
}

/// Who a token belongs to.
public struct Principal: Sendable, Equatable {
    public let user: String
    public let isAdmin: Bool
    public init(user: String, isAdmin: Bool) {
        self.user = user
        self.isAdmin = isAdmin
    }
}

/// Optional changes written together with a transition or on their own.
public struct JobChanges: Sendable {
    public var progress: Double?
    public var schedulerJobID: String?
    public var exitCode: Int?
    public var errorMessage: String?
    public var backendData: String?
    public init(progress: Double? = nil, schedulerJobID: String? = nil, exitCode: Int? = nil, errorMessage: String? = nil,
                backendData: String? = nil) {
        self.progress = progress
        self.schedulerJobID = schedulerJobID
        self.exitCode = exitCode
        self.errorMessage = errorMessage
        self.backendData = backendData
    }
}

public struct JobQuery: Sendable {
    /// nil: every owner's jobs (admins).
    public var owner: String?
    public var states: Set<JobState>?
    public var backend: BackendKind?
    public var limit: Int
    /// Continue after this position (exclusive).
    public var after: Cursor?
    /// Offset paging as the seed had it (ignored when `after` is set).
    public var offset: Int
    public init(owner: String?, states: Set<JobState>? = nil, backend: BackendKind? = nil, limit: Int = 20,
                after: Cursor? = nil, offset: Int = 0) {
        self.owner = owner
        self.states = states
        self.backend = backend
        self.limit = limit
        self.after = after
        self.offset = offset
    }
}

/// A position in the newest-first order.
public struct Cursor: Sendable, Equatable {
    public let createdAt: Int64
    public let id: String
    public init(createdAt: Int64, id: String) {
        self.createdAt = createdAt
        self.id = id
    }

    /// Opaque text for clients: `<created_at>.<id>` in hex and plain.
    public var token: String { String(createdAt, radix: 16) + "." + id }

    public init?(token: String) {
        let parts = token.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 16, let t = Int64(parts[0], radix: 16), t >= 0,
              parts[1].count == 36,
              parts[1].allSatisfy({ $0.isHexDigit || $0 == "-" }) else { return nil }
        self.init(createdAt: t, id: String(parts[1]))
    }
}

public struct JobPage: Sendable {
    public var jobs: [Job]
    /// Jobs matching the filter in total.
    public var total: Int
    public var nextCursor: Cursor?
    public init(jobs: [Job], total: Int, nextCursor: Cursor?) {
        self.jobs = jobs
        self.total = total
        self.nextCursor = nextCursor
    }

    /// A page from `limit + 1` fetched rows: the extra row only says that
    /// another page follows, which starts after the page's last job.
    init(fetched: [Job], limit: Int, total: Int) {
        var jobs = fetched
        var next: Cursor?
        if jobs.count > limit {
            jobs.removeLast()
            next = jobs.last.map { Cursor(createdAt: $0.createdAt, id: $0.id) }
        }
        self.init(jobs: jobs, total: total, nextCursor: next)
    }
}

/// The store could not do what was asked, for a reason a client caused.
public enum StoreError: Error, Sendable, Equatable {
    case tokenExists
}
