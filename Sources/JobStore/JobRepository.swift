import Jobs
import RunContract

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
    /// Jobs in the given states, oldest first (for the sync loops and recovery); only `backend`'s when given.
    func jobs(in states: Set<JobState>, backend: BackendKind?, limit: Int) async throws -> [Job]
    /// Count of jobs per state.
    func countsByState() async throws -> [JobState: Int]

    func insertToken(hash: String, user: String, admin: Bool) async throws
    func principal(tokenHash: String) async throws -> Principal?
    /// A cheap query proving the store answers.
    func ping() async throws
    func close() async throws
}

/// What the sync loops keep in the store beside the jobs: submission claims,
/// the attempts history with accounting, the solver's progress, watcher
/// leases. Both stores implement it with the same semantics (one shared suite).
public protocol RunRecords: Sendable {
    /// Claims up to `limit` queued or requeued jobs of `backend` that no live
    /// claim holds and whose backoff has passed, oldest first, for `owner`
    /// until `leaseSeconds` from now. Several submitters (g4api replicas,
    /// g4sync) never get the same job at once (PostgreSQL: `FOR UPDATE SKIP
    /// LOCKED`; SQLite: one writer).
    func claimJobs(backend: BackendKind, owner: String, limit: Int, leaseSeconds: Int) async throws -> [ClaimedJob]
    /// Extends `owner`'s claim to `leaseSeconds` from now; false when the claim is no longer its own.
    func renewClaim(jobID: String, owner: String, leaseSeconds: Int) async throws -> Bool
    /// Gives a claim back without submitting; the job waits until `notBefore`
    /// (µs), if given. `untouched`: nothing of this claim or an earlier one
    /// can have reached the backend, so the next claimer need not look for a run.
    func releaseClaim(jobID: String, owner: String, notBefore: Int64?, untouched: Bool) async throws
    /// Moves a queued job that `owner` claims, and whose request allows it,
    /// from backend `from` to `to`, with `note` as its message (why); gives
    /// the claim up. False when the job is no longer such a job.
    func fallBack(jobID: String, owner: String, from: BackendKind, to: BackendKind, note: String) async throws -> Bool
    /// The submission went through: the job becomes `submitted` (only while
    /// `owner` still holds the claim of this attempt) and the attempt is
    /// recorded, in one transaction. nil when the job changed meanwhile
    /// (cancelled, or claimed by another after the claim expired).
    func recordSubmission(_ attempt: JobAttempt, owner: String, backendData: String, memoryMB: Int) async throws -> Job?
    /// An attempt ended: the transition (a compare-and-set, as `apply`) and
    /// the attempt's ending, in one transaction. Accounting of the attempt is
    /// refreshed until `accountingUntil` (µs). nil when the transition did not apply.
    func recordEnding(jobID: String, attempt: Int, transition: Transition, changes: JobChanges, ending: AttemptEnding,
                      accountingUntil: Int64) async throws -> Job?
    /// The job's attempts, oldest first, with their accounting.
    func attempts(jobID: String) async throws -> [JobAttempt]
    /// Replaces the stored accounting rows of one attempt.
    func saveAccounting(jobID: String, attempt: Int, rows: [AccountingRow]) async throws
    /// Ended attempts of `backend` whose accounting may still change (their `accountingUntil` is after `now`).
    func attemptsAwaitingAccounting(backend: BackendKind, now: Int64) async throws -> [JobAttempt]
    /// Takes or renews the named lease for `owner`; false while another owner holds it.
    func acquireLease(_ name: String, owner: String, seconds: Int) async throws -> Bool
    func releaseLease(_ name: String, owner: String) async throws
}

/// A job claimed for submission.
public struct ClaimedJob: Sendable {
    public let job: Job
    /// An earlier claim of the same attempt may have reached the backend
    /// before its holder died: the submitter must look for that run first.
    public let mayHaveLaunched: Bool
    public init(job: Job, mayHaveLaunched: Bool) {
        self.job = job
        self.mayHaveLaunched = mayHaveLaunched
    }
}

/// The runs' stdout and stderr, copied into the store by the sync loop, so
/// that logs are served from the store when the job's directory is on a
/// filesystem the API cannot read.
public protocol LogRecords: Sendable {
    /// Stores `bytes` at `offset` if the stored log ends exactly there, so a
    /// tailer that restarted (or a second one) can neither duplicate nor
    /// skip bytes; false when it did not end there (nothing stored).
    @discardableResult
    func appendLog(jobID: String, stream: LogStream, offset: Int64, bytes: [UInt8]) async throws -> Bool
    /// Where the stored log ends: the next offset to append.
    func logLength(jobID: String, stream: LogStream) async throws -> Int64
    /// Stored bytes from `offset`, at most about `limit` of them, and the offset after them.
    func logBytes(jobID: String, stream: LogStream, from offset: Int64, limit: Int) async throws -> (bytes: [UInt8], end: Int64)
}

/// Everything the service keeps: jobs and tokens, sync records, logs.
public typealias JobStorage = JobRepository & RunRecords & LogRecords

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
    /// Memory per rank for the next attempts (an out-of-memory resubmission raises it).
    public var memoryMB: Int?
    public var solverProgress: SolverProgress?
    /// Another backend for the next attempts (a fallback).
    public var backend: BackendKind?
    public init(progress: Double? = nil, schedulerJobID: String? = nil, exitCode: Int? = nil, errorMessage: String? = nil,
                backendData: String? = nil, memoryMB: Int? = nil, solverProgress: SolverProgress? = nil, backend: BackendKind? = nil) {
        self.backend = backend
        self.progress = progress
        self.schedulerJobID = schedulerJobID
        self.exitCode = exitCode
        self.errorMessage = errorMessage
        self.backendData = backendData
        self.memoryMB = memoryMB
        self.solverProgress = solverProgress
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
