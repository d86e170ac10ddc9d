import Foundation
import Jobs

/// Something that runs jobs: this machine, a Slurm cluster, Kubernetes. The
/// sync loops (module Sync) drive every backend through this protocol alone:
/// hand over an attempt, observe all live runs in one call, cancel.
public protocol Backend: Sendable {
    var kind: BackendKind { get }

    /// Why this backend can never run `job` as asked (too many ranks for
    /// the machine, an account the Slurm user has no association with), or
    /// nil. Asked before a job is stored, so the client gets a 422.
    func refusal(for job: Job) async -> ValidationError?

    /// The longest one `submit` call can take (its commands' time limits):
    /// how long a submitter's claim on a job lasts, so that the claims of a
    /// submitter that died are free again soon, but never while its
    /// submission may still be going through.
    var submissionSeconds: Int { get }

    /// Whether an attempt of this size may be handed over now: the local
    /// backend's free slots. A batch scheduler queues jobs itself and says yes.
    func canStart(_ job: Job) async -> Bool

    /// Hands one attempt over. Idempotent per attempt: with
    /// `plan.mayAlreadyExist` (an earlier submitter claimed this attempt and
    /// may have died after handing it over), it first looks for that run and
    /// returns it instead of starting a second one.
    func submit(_ job: Job, plan: AttemptPlan) async throws(SubmitError) -> Submission

    /// What became of these jobs' current runs, keyed by job id, in one call
    /// (one `squeue` for all of them, not one per job). A job missing from
    /// the answer is `.unknown`.
    func observe(_ jobs: [Job]) async -> [String: RunStatus]

    /// The scheduler's accounting of these attempts, keyed by job id and
    /// attempt; empty where the backend keeps none.
    func accounting(_ attempts: [JobAttempt]) async -> [AttemptKey: [AccountingRow]]

    /// Asks the job's run to stop. Idempotent: the sync loop calls it on
    /// every pass until the run is seen ended, and a backend may escalate
    /// (SIGKILL after the grace period).
    func cancel(_ job: Job) async

    /// The job's directory: parameter file, logs, `output/`.
    func directory(for job: Job) -> URL
}

extension Backend {
    public func accounting(_ attempts: [JobAttempt]) async -> [AttemptKey: [AccountingRow]] { [:] }
}

/// One attempt as the sync loop plans it.
public struct AttemptPlan: Sendable, Equatable {
    /// The attempt's number (the job's `attempts` + 1).
    public var number: Int
    /// Continue from the restart files of an earlier attempt.
    public var resume: Bool
    /// Memory per rank (raised after an out-of-memory kill).
    public var memoryMB: Int
    /// An earlier claim of this attempt may already have handed it over.
    public var mayAlreadyExist: Bool
    public init(number: Int, resume: Bool, memoryMB: Int, mayAlreadyExist: Bool = false) {
        self.number = number
        self.resume = resume
        self.memoryMB = memoryMB
        self.mayAlreadyExist = mayAlreadyExist
    }
}

/// What `submit` reports.
public struct Submission: Sendable, Equatable {
    /// The scheduler's id (Slurm's job id; `local:PID`).
    public var schedulerJobID: String
    /// Opaque, stored with the job (JSON) to find the run again.
    public var backendData: String
    /// The batch script as submitted, where there is one.
    public var script: String?
    public init(schedulerJobID: String, backendData: String, script: String? = nil) {
        self.schedulerJobID = schedulerJobID
        self.backendData = backendData
        self.script = script
    }
}

/// Why a submission did not go through.
public enum SubmitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The scheduler cannot take jobs now (controller down or busy): the job
    /// stays queued and the submitter backs off.
    case unavailable(String)
    /// The scheduler's RPC rate limit: back off harder.
    case rateLimited(String)
    /// The scheduler refused this job (an invalid partition, too many
    /// nodes): the job fails with the scheduler's words.
    case refused(String)

    public var description: String {
        switch self {
        case .unavailable(let m): "scheduler unavailable: \(m)"
        case .rateLimited(let m): "scheduler rate limit: \(m)"
        case .refused(let m): m
        }
    }
}

/// A job's run as the scheduler reports it.
public enum RunStatus: Sendable, Equatable {
    /// Waiting in the scheduler's queue (the reason it gives, if any).
    case queued(reason: String?)
    case running
    case ended(RunEnding)
    /// The scheduler could not tell now (a slow or unreachable controller, a
    /// job between squeue and sacct): nothing is decided, ask again.
    case unknown(reason: String)
}

/// How a run ended, in the scheduler's terms made common to all backends.
public struct RunEnding: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Exit status 0.
        case completed
        /// A non-zero exit status other than "resume me".
        case failed
        /// g4sim stopped at a safe point with restart files (exit 75).
        case resumeMe = "resume_me"
        /// Killed at its wall-clock limit.
        case timeLimit = "time_limit"
        /// Preempted by higher-priority work (not the job's fault).
        case preempted
        /// Killed for using more memory than it asked for.
        case outOfMemory = "out_of_memory"
        /// A node of the allocation failed (not the job's fault).
        case nodeFailure = "node_failure"
        /// The allocation's nodes could not boot (not the job's fault).
        case bootFailure = "boot_failure"
        /// Could not start before its deadline.
        case deadline
        /// Cancelled (by g4's cancel, or by someone else).
        case cancelled
        /// No record of the run anywhere.
        case lost
    }

    public var kind: Kind
    public var exitCode: Int?
    /// The scheduler's words ("TIMEOUT", "exit status 1", "OOMKilled").
    public var detail: String

    public init(_ kind: Kind, exitCode: Int? = nil, detail: String) {
        self.kind = kind
        self.exitCode = exitCode
        self.detail = detail
    }
}

/// An attempt of a job.
public struct AttemptKey: Sendable, Hashable {
    public var jobID: String
    public var attempt: Int
    public init(jobID: String, attempt: Int) {
        self.jobID = jobID
        self.attempt = attempt
    }
}

public struct BackendError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
