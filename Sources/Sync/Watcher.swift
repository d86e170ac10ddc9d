import Foundation
import JobStore
import Jobs
import Logging
import RunContract
import Scheduling

/// Follows one backend's live jobs and writes what it sees into the store:
/// state changes, the solver's progress, log chunks, the scheduler's
/// accounting, and how each attempt ended (through `EndingPolicy`, which may
/// send the job back to the queue to be resumed).
///
/// One watcher per backend is active at a time across all processes on one
/// store (a lease, renewed every pass). Every write is idempotent —
/// transitions are compare-and-set, log chunks go where the stored log ends,
/// accounting rows are replaced — so a watcher killed anywhere and started
/// again neither duplicates nor misses anything.
public actor Watcher {
    let store: any JobStorage
    let backend: any Backend
    let owner: String
    let settings: SyncSettings
    let policy: EndingPolicy
    let logger: Logger
    /// Called when a job went back to the queue (wakes the submitter).
    let requeued: @Sendable () -> Void
    private var leaseName: String { "watch:\(backend.kind.rawValue)" }
    /// What this watcher last stored, to write only changes.
    private var lastProgress: [String: SolverProgress] = [:]
    private var lastAccounting: [AttemptKey: [AccountingRow]] = [:]
    private var logEnds: [LogKey: Int64] = [:]
    private struct LogKey: Hashable { var jobID: String; var stream: LogStream }

    public init(store: any JobStorage, backend: any Backend, owner: String, settings: SyncSettings, policy: EndingPolicy,
                logger: Logger, requeued: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.backend = backend
        self.owner = owner
        self.settings = settings
        self.policy = policy
        self.logger = logger
        self.requeued = requeued
    }

    /// What one pass did (for metrics and the benchmark).
    public struct PassReport: Sendable {
        public var jobs: Int
        public var seconds: Double
        /// Programs started during the pass (squeue, sacct, ...) by this process.
        public var commands: Int
    }

    /// One pass over every live job of the backend: accounting first (one
    /// sacct for all live and recently ended attempts, which observe then
    /// reuses), then one observation of all live jobs, then what each did.
    /// nil when another process holds the watch lease (nothing was done).
    @discardableResult
    public func pass() async throws -> PassReport? {
        guard try await store.acquireLease(leaseName, owner: owner, seconds: settings.leaseSeconds(for: backend.kind)) else {
            return nil
        }
        let clock = ContinuousClock()
        let start = clock.now
        let commandsBefore = CommandRunner.started
        let live = try await store.jobs(in: [.submitted, .running], backend: backend.kind, limit: 100_000)
        try await refreshAccounting(live: live)
        let statuses = live.isEmpty ? [:] : await backend.observe(live)
        for job in live {
            let status = statuses[job.id] ?? .unknown(reason: "not in the backend's answer")
            do {
                try await follow(job, status: status)
            } catch {
                logger.error("could not record what a job did", metadata: ["job": "\(job.id)", "error": "\(error)"])
            }
        }
        forgetAllBut(Set(live.map(\.id)))
        let elapsed = clock.now - start
        let report = PassReport(jobs: live.count, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18,
                                commands: CommandRunner.started - commandsBefore)
        logger.debug("watch pass", metadata: ["jobs": "\(report.jobs)", "seconds": "\(report.seconds)", "commands": "\(report.commands)"])
        return report
    }

    /// Gives the lease up (a clean shutdown), so another watcher can start at once.
    public func resign() async {
        try? await store.releaseLease(leaseName, owner: owner)
    }

    func follow(_ job: Job, status: RunStatus) async throws {
        let directory = RunDirectory(backend.directory(for: job))
        // An ended run's logs are copied to their end; a live one's a chunk per pass.
        let ended: Bool
        if case .ended = status { ended = true } else { ended = false }
        try await copyLogs(of: job, from: directory, drain: ended)
        let progress = try await recordProgress(of: job, from: directory)
        switch status {
        case .queued, .unknown:
            if job.cancelRequested { await backend.cancel(job) }
        case .running:
            if job.cancelRequested { await backend.cancel(job) }
            if job.state == .submitted { _ = try await store.apply(.start, to: job.id, changes: JobChanges()) }
        case .ended(let ending):
            try await record(ending, of: job, directory: directory, progress: progress)
        }
    }

    /// Decides what an ended attempt means and records it with the transition.
    func record(_ ending: RunEnding, of job: Job, directory: RunDirectory, progress: SolverProgress?) async throws {
        let history = try await store.attempts(jobID: job.id)
        let verdict = policy.decide(ending, job: job, history: history, restartFiles: directory.hasRestartFiles,
                                    peakMemoryMB: progress?.peakMemoryMB)
        let now = Clock.microseconds()
        let attemptEnding = AttemptEnding(endedAt: now, kind: ending.kind.rawValue, exitCode: ending.exitCode, reason: ending.detail,
                                          chargeable: verdict.chargeable)
        let transition: Transition
        var changes = JobChanges(exitCode: ending.exitCode)
        switch verdict.decision {
        case .complete:
            transition = .complete
        case .resubmit(let memory, let reason):
            transition = .requeue
            changes.errorMessage = reason
            changes.memoryMB = memory
        case .timeOut(let message):
            transition = .timeOut
            changes.errorMessage = message
        case .fail(let message):
            transition = .fail
            changes.errorMessage = message
        case .cancel(let message):
            transition = .cancel
            changes.errorMessage = message
        }
        let applied = try await store.recordEnding(jobID: job.id, attempt: job.attempts, transition: transition, changes: changes,
                                                   ending: attemptEnding,
                                                   accountingUntil: now + Int64(settings.accountingSettleSeconds * 1e6))
        guard applied != nil else { return }  // another writer moved the job first
        logger.info("attempt ended", metadata: ["job": "\(job.id)", "attempt": "\(job.attempts)", "ending": "\(ending.kind.rawValue)",
                                                "detail": "\(ending.detail)", "now": "\(transition.to.rawValue)"])
        if transition == .requeue { requeued() }
    }

    /// Stores the solver's progress when it changed; returns what was read.
    func recordProgress(of job: Job, from directory: RunDirectory) async throws -> SolverProgress? {
        guard let progress = try await offloaded({ directory.progress }) else { return job.solverProgress }
        if progress == (lastProgress[job.id] ?? job.solverProgress) { return progress }
        lastProgress[job.id] = progress
        let percent = progress.percent.map { max($0, job.progress) }
        try await store.update(job.id, changes: JobChanges(progress: percent, solverProgress: progress))
        return progress
    }

    /// Copies new bytes of stdout and stderr into the store, from where the
    /// stored log ends (read from the store after a restart). `drain`: until
    /// the file is exhausted (the run ended); otherwise one chunk per pass.
    func copyLogs(of job: Job, from directory: RunDirectory, drain: Bool) async throws {
        for stream in LogStream.allCases {
            let key = LogKey(jobID: job.id, stream: stream)
            var offset: Int64
            if let known = logEnds[key] { offset = known } else { offset = try await store.logLength(jobID: job.id, stream: stream) }
            while true {
                let start = offset
                let bytes = try await offloaded { directory.readLog(stream, from: start, limit: 1 << 18) }
                if bytes.isEmpty { break }
                if try await store.appendLog(jobID: job.id, stream: stream, offset: offset, bytes: bytes) {
                    offset += Int64(bytes.count)
                } else {
                    offset = try await store.logLength(jobID: job.id, stream: stream)  // someone else stored these bytes
                }
                if !drain { break }
            }
            logEnds[key] = offset
        }
    }

    /// Accounting of live attempts and of those that ended recently (rows
    /// appear and change asynchronously after a job ends).
    func refreshAccounting(live: [Job]) async throws {
        var attempts = live.filter { $0.attempts > 0 }.map { job in
            JobAttempt(jobID: job.id, number: job.attempts, backend: job.backend, schedulerJobID: job.schedulerJobID, resumed: false,
                       memoryMB: job.resources.memoryMB, why: "", submittedAt: job.submittedAt ?? job.createdAt)
        }
        attempts += try await store.attemptsAwaitingAccounting(backend: backend.kind, now: Clock.microseconds())
        guard !attempts.isEmpty else { return }
        for (key, rows) in await backend.accounting(attempts) where !rows.isEmpty && lastAccounting[key] != rows {
            try await store.saveAccounting(jobID: key.jobID, attempt: key.attempt, rows: rows)
            lastAccounting[key] = rows
        }
    }

    private func forgetAllBut(_ live: Set<String>) {
        lastProgress = lastProgress.filter { live.contains($0.key) }
        logEnds = logEnds.filter { live.contains($0.key.jobID) }
        if lastAccounting.count > 10_000 { lastAccounting = [:] }
    }
}
