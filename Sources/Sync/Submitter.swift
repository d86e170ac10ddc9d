import Foundation
import JobStore
import Jobs
import Logging
import Scheduling

/// Hands one backend's queued jobs over to it. The store's queued rows are
/// the outbox (the API only inserts): each pass claims a batch, so that
/// several submitters (g4api replicas, g4sync) never hand the same job over
/// at once, and submits the claimed jobs one by one.
///
/// Crash safety: a job becomes `submitted` only after the backend took it,
/// in the same statement that checks the claim is still ours. A submitter
/// that dies in between leaves a claim that expires; whoever claims the job
/// next is told an earlier claim may have reached the backend, and the
/// backend then looks for that run before starting another (`AttemptPlan.mayAlreadyExist`).
///
/// Fallback: jobs whose request left the backend to the service go to
/// `fallback` (the next backend of BACKENDS) when this backend has not been
/// able to take jobs for `fallbackAfterSeconds`, or refuses one as
/// unsuitable (a Slurm partition inactive). Never the job whose submission
/// was just attempted and may have reached the scheduler: it stays, and is
/// looked for there first when the scheduler answers again.
public actor Submitter {
    let store: any JobStorage
    let backend: any Backend
    let fallback: BackendKind?
    let owner: String
    let settings: SyncSettings
    let logger: Logger
    /// Called with the backend a job was handed to (wakes its submitter).
    let handedOver: @Sendable (BackendKind) -> Void
    private var backoff: Backoff
    private var resumeAt = ContinuousClock.now
    /// Since when the backend has answered every submission with "unavailable".
    private var unavailableSince: ContinuousClock.Instant?

    public init(store: any JobStorage, backend: any Backend, fallback: BackendKind? = nil, owner: String, settings: SyncSettings,
                logger: Logger, handedOver: @escaping @Sendable (BackendKind) -> Void = { _ in }) {
        self.store = store
        self.backend = backend
        self.fallback = fallback
        self.owner = owner
        self.settings = settings
        self.logger = logger
        self.handedOver = handedOver
        backoff = Backoff(first: settings.submitBackoff, maximum: settings.maximumBackoff)
    }

    /// One pass; returns how many jobs it handed over.
    @discardableResult
    public func pass() async -> Int {
        guard ContinuousClock.now >= resumeAt else { return 0 }
        let claims: [ClaimedJob]
        do {
            claims = try await store.claimJobs(backend: backend.kind, owner: owner, limit: settings.submitBatch,
                                               leaseSeconds: backend.submissionSeconds)
        } catch {
            logger.error("could not claim queued jobs", metadata: ["backend": "\(backend.kind.rawValue)", "error": "\(error)"])
            return 0
        }
        var handedOver = 0
        for (index, claim) in claims.enumerated() {
            do {
                switch try await submit(claim) {
                case .submitted:
                    handedOver += 1
                    backoff.reset()
                    unavailableSince = nil
                case .settled:
                    break
                case .wait(let seconds, let reached):
                    // The backend cannot take jobs now: give every remaining
                    // claim back, or to the fallback once it has been so long
                    // (never a job a submission may have reached).
                    let notBefore = seconds.map { Clock.microseconds() + Int64($0 * 1e6) }
                    let fallingBack = seconds != nil && unavailableSince.map { .now - $0 >= .seconds(settings.fallbackAfterSeconds) } == true
                    let reason = "\(backend.kind.rawValue) has not taken jobs for \(Int(settings.fallbackAfterSeconds)) s"
                    for (offset, rest) in claims[index...].enumerated() {
                        let clean = !(offset == 0 && reached) && !rest.mayHaveLaunched
                        if fallingBack, clean, (try? await fallBack(rest.job, because: reason)) == true { continue }
                        try? await store.releaseClaim(jobID: rest.job.id, owner: owner, notBefore: notBefore, untouched: clean)
                    }
                    return handedOver
                }
            } catch {
                logger.error("submission bookkeeping failed", metadata: ["job": "\(claim.job.id)", "error": "\(error)"])
                try? await store.releaseClaim(jobID: claim.job.id, owner: owner, notBefore: nil, untouched: false)
            }
        }
        return handedOver
    }

    enum Outcome {
        case submitted
        /// Cancelled, refused or failed: nothing more to do for this job.
        case settled
        /// Stop this pass; the job may go again after this many seconds (nil:
        /// at once when a slot frees). `reached`: the submission may have
        /// reached the scheduler (it timed out, say), so the job stays.
        case wait(Double?, reached: Bool)
    }

    func submit(_ claim: ClaimedJob) async throws -> Outcome {
        let job = claim.job
        if job.cancelRequested {
            _ = try await store.apply(.cancel, to: job.id, changes: JobChanges(errorMessage: "cancelled before it started"))
            return .settled
        }
        if let refusal = await backend.refusal(for: job) {
            _ = try await store.apply(.fail, to: job.id, changes: JobChanges(errorMessage: refusal.description))
            return .settled
        }
        guard await backend.canStart(job) else { return .wait(nil, reached: false) }  // first come, first served, per backend
        // The claim lasts one submission: renewed now, just before this job's turn.
        guard try await store.renewClaim(jobID: job.id, owner: owner, leaseSeconds: backend.submissionSeconds) else {
            return .settled  // expired while earlier jobs of the batch went through; another submitter has it
        }

        let directory = RunDirectory(backend.directory(for: job))
        let resume = job.state == .requeued && directory.hasRestartFiles
        let plan = AttemptPlan(number: job.attempts + 1, resume: resume, memoryMB: job.resources.memoryMB,
                               mayAlreadyExist: claim.mayHaveLaunched)
        let submission: Submission
        do {
            submission = try await backend.submit(job, plan: plan)
        } catch {
            switch error {
            case .unavailable(let message), .rateLimited(let message), .unreachable(let message):
                unavailableSince = unavailableSince ?? .now
                let delay = backoff.next(rateLimited: { if case .rateLimited = error { return true }; return false }())
                resumeAt = ContinuousClock.now + .seconds(delay)
                logger.warning("backend cannot take jobs now; backing off", metadata: [
                    "backend": "\(backend.kind.rawValue)", "seconds": "\(delay)", "error": "\(message)"])
                if case .unreachable = error { return .wait(delay, reached: false) }
                return .wait(delay, reached: true)
            case .unsuitable(let message) where job.mayFallBack && fallback != nil:
                _ = try await fallBack(job, because: message)
                return .settled
            case .refused(let message), .unsuitable(let message):
                logger.warning("submission refused", metadata: ["job": "\(job.id)", "error": "\(message)"])
                _ = try await store.apply(.fail, to: job.id, changes: JobChanges(errorMessage: message))
                return .settled
            }
        }
        // Why this attempt: the message a queued job carries (a resubmission's
        // reason, a fallback's note), else the first.
        let why = job.errorMessage ?? (job.state == .requeued ? "resubmitted" : "first attempt")
        let attempt = JobAttempt(jobID: job.id, number: plan.number, backend: backend.kind, schedulerJobID: submission.schedulerJobID,
                                 resumed: plan.resume, memoryMB: plan.memoryMB, why: why, script: submission.script,
                                 submittedAt: Clock.microseconds())
        if let submitted = try await store.recordSubmission(attempt, owner: owner, backendData: submission.backendData,
                                                            memoryMB: plan.memoryMB) {
            logger.info("submitted", metadata: ["job": "\(submitted.id)", "attempt": "\(plan.number)",
                                                "scheduler_job_id": "\(submission.schedulerJobID)", "resume": "\(plan.resume)"])
            return .submitted
        }
        // The job changed meanwhile. If it was cancelled, stop what was just
        // started; if our claim expired and another submitter took the job, it
        // found (or will find) this run and owns it now.
        if let now = try await store.job(id: job.id, owner: nil), now.cancelRequested || now.state == .cancelled {
            var started = job
            started.backendData = submission.backendData
            started.schedulerJobID = submission.schedulerJobID
            await backend.cancel(started)
        }
        return .settled
    }
}

extension Submitter {
    /// Hands a claimed job that allows it to the fallback backend; false when
    /// there is none, the job does not allow it, or it changed meanwhile.
    func fallBack(_ job: Job, because reason: String) async throws -> Bool {
        guard job.mayFallBack, let fallback else { return false }
        let note = "\(reason): handed to \(fallback.rawValue)"
        guard try await store.fallBack(jobID: job.id, owner: owner, from: backend.kind, to: fallback, note: note) else { return false }
        logger.warning("job handed to the fallback backend", metadata: ["job": "\(job.id)", "to": "\(fallback.rawValue)", "why": "\(reason)"])
        handedOver(fallback)
        return true
    }
}

/// Exponential backoff with a cap: 1×, 2×, 4×, ... the first delay.
struct Backoff: Sendable {
    let first: Double
    let maximum: Double
    private var current: Double

    init(first: Double, maximum: Double) {
        self.first = first
        self.maximum = maximum
        current = first
    }

    /// The delay to wait now (rate limits wait four times as long).
    mutating func next(rateLimited: Bool = false) -> Double {
        let delay = min(maximum, current * (rateLimited ? 4 : 1))
        current = min(maximum, current * 2)
        return delay
    }

    mutating func reset() { current = first }
}
