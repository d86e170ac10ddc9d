import Foundation
import Jobs
import Logging
import RunContract
import Synchronization

/// Runs jobs on a Slurm cluster: one sbatch script per attempt, rendered
/// from the site's template into the job's directory on the cluster
/// filesystem and submitted with `sbatch --parsable`.
///
/// Observing costs one `squeue` for all of the service user's jobs and at
/// most one `sacct` per pass, however many jobs there are. A job that has
/// left squeue (purged after MinJobAge) is looked up in sacct with an
/// explicit start time; one found in neither is `unknown` for a while
/// (accounting rows appear asynchronously) and lost only after
/// `lostAfterSeconds`. When squeue itself fails (slurmctld down or busy)
/// nothing is decided: every job is `unknown` until it answers again.
public final class SlurmBackend: Backend, Sendable {
    public struct Configuration: Sendable {
        /// Where job directories are created, on the cluster filesystem.
        public var jobsDirectory: URL
        /// g4sim as the compute nodes see it.
        public var g4sim: String
        /// The Slurm user jobs are submitted as (whose jobs squeue lists and whose associations count).
        public var user: String
        public var site: SiteConfiguration
        public var lostAfterSeconds: Double = 600
        public var cacheSeconds: Double = 60
        public init(jobsDirectory: URL, g4sim: String, user: String, site: SiteConfiguration) {
            self.jobsDirectory = jobsDirectory
            self.g4sim = g4sim
            self.user = user
            self.site = site
        }
    }

    public let kind = BackendKind.slurm
    /// A lookup (squeue, then sacct) and an sbatch, each within the command time limit.
    public var submissionSeconds: Int { 3 * Int(client.timeLimitSeconds) + 10 }
    public let configuration: Configuration
    let client: any SlurmClient
    let script: BatchScript
    let logger: Logger
    private let state = Mutex(State())

    /// Jobs in neither squeue nor sacct; scancels sent.
    private let memory = PassMemory()

    struct State {
        /// The last accounting answer (allocation id → rows), and when it was taken.
        var accounting: [String: [SlurmAccountingEntry]] = [:]
        var accountingTaken = ContinuousClock.Instant.now - .seconds(3600)
    }
    /// The Slurm user's associations and the cluster's partitions, asked for at most once a minute.
    private let associations: CachedAnswer<[SlurmAssociation]>
    private let partitions: CachedAnswer<[SlurmPartition]>

    public init(_ configuration: Configuration, client: any SlurmClient, script: BatchScript,
                logger: Logger = Logger(label: "g4.backend.slurm")) throws {
        guard BatchScript.isPlainPath(configuration.jobsDirectory.path) else {
            throw SiteConfigurationError("the Slurm jobs directory \(configuration.jobsDirectory.path) must be an absolute path of letters, digits and / . _ + -")
        }
        guard BatchScript.isPlainPath(configuration.g4sim) else {
            throw SiteConfigurationError("SLURM_G4SIM \(configuration.g4sim) must be an absolute path of letters, digits and / . _ + -")
        }
        self.configuration = configuration
        self.client = client
        self.script = script
        self.logger = logger
        let user = configuration.user
        associations = CachedAnswer(lifetime: .seconds(configuration.cacheSeconds)) { try? await client.associations(user: user) }
        partitions = CachedAnswer(lifetime: .seconds(configuration.cacheSeconds)) { try? await client.partitions() }
    }

    public func directory(for job: Job) -> URL {
        configuration.jobsDirectory.appendingPathComponent(job.id, isDirectory: true)
    }

    public func canStart(_ job: Job) async -> Bool { true }

    // MARK: Refusal

    /// Account, partition and QoS against the Slurm user's associations and
    /// the cluster's partitions (each cached for a minute), so that a wrong
    /// one is refused before the job is stored, with the allowed values.
    public func refusal(for job: Job) async -> ValidationError? {
        let site = configuration.site
        let account = job.placement.account ?? site.account
        let partition = job.placement.partition ?? site.partition
        let qos = job.placement.qos ?? site.qos
        func field(_ name: String, fromJob: Bool) -> String { "scheduler.\(name)" + (fromJob ? "" : " (the site's default)") }

        if let partition, let partitions = await cachedPartitions(), !partitions.isEmpty,
           !partitions.contains(where: { $0.name == partition }) {
            return ValidationError(field: field("partition", fromJob: job.placement.partition != nil),
                                   message: "no partition \(partition) on this cluster; allowed: \(partitions.map(\.name).sorted().joined(separator: ", "))")
        }
        guard let associations = await cachedAssociations(), !associations.isEmpty else { return nil }
        let accounts = Set(associations.map(\.account))
        if let account, !accounts.contains(account) {
            return ValidationError(field: field("account", fromJob: job.placement.account != nil),
                                   message: "the Slurm user \(configuration.user) has no association with account \(account); allowed: \(accounts.sorted().joined(separator: ", "))")
        }
        let mine = associations.filter { account == nil || $0.account == account }
        if let partition, !mine.contains(where: { $0.partition.isEmpty || $0.partition == partition }) {
            let allowed = Set(mine.map(\.partition)).sorted().joined(separator: ", ")
            return ValidationError(field: field("partition", fromJob: job.placement.partition != nil),
                                   message: "account \(account ?? "(default)") may not use partition \(partition); allowed: \(allowed)")
        }
        let allowedQoS = Set(mine.flatMap(\.qos))
        if let qos, !allowedQoS.isEmpty, !allowedQoS.contains(qos) {
            return ValidationError(field: field("qos", fromJob: job.placement.qos != nil),
                                   message: "QoS \(qos) is not allowed for account \(account ?? "(default)"); allowed: \(allowedQoS.sorted().joined(separator: ", "))")
        }
        return nil
    }

    func cachedAssociations() async -> [SlurmAssociation]? { await associations.value() }
    func cachedPartitions() async -> [SlurmPartition]? { await partitions.value() }

    // MARK: Submit

    public func submit(_ job: Job, plan: AttemptPlan) async throws(SubmitError) -> Submission {
        let directory = directory(for: job)
        let scriptFile = directory.appendingPathComponent("attempt-\(plan.number).sbatch")
        if plan.mayAlreadyExist, let existing = try await findRun(of: job, attempt: plan.number) {
            logger.info("adopted a Slurm job an earlier submitter started", metadata: ["job": "\(job.id)", "slurm_job_id": "\(existing)"])
            let text = try? String(contentsOf: scriptFile, encoding: .utf8)
            return Submission(schedulerJobID: existing, backendData: Self.backendData(attempt: plan.number, slurmJobID: existing),
                              script: text)
        }
        let text = script.render(job, plan: plan, site: configuration.site, directory: directory.path, g4sim: configuration.g4sim)
        do {
            try await offloaded {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try Durable.write(job.parameterFile(memoryMB: plan.memoryMB), to: directory.appendingPathComponent(RunLayout.parameterFile))
                try Durable.write(job.outputList, to: directory.appendingPathComponent(RunLayout.outputList))
                try Durable.write(text, to: scriptFile)
            }
        } catch {
            throw .unavailable("cannot write the job's directory \(directory.path): \(error)")
        }
        let id = try await client.submit(scriptAt: scriptFile.path)
        return Submission(schedulerJobID: id, backendData: Self.backendData(attempt: plan.number, slurmJobID: id), script: text)
    }

    static func backendData(attempt: Int, slurmJobID: String) -> String {
        "{\"attempt\":\(attempt),\"slurm_job_id\":\"\(slurmJobID)\"}"
    }

    /// A job of this attempt that an earlier submitter handed over, found by
    /// its comment in squeue, else in sacct since the job was created.
    func findRun(of job: Job, attempt: Int) async throws(SubmitError) -> String? {
        let comment = BatchScript.comment(jobID: job.id, attempt: attempt)
        do {
            if let entry = try await client.queue(user: configuration.user).first(where: { $0.comment == comment }) {
                return entry.jobID
            }
        } catch {
            throw .unavailable("cannot tell whether attempt \(attempt) was already submitted: \(error)")
        }
        let since = Date(timeIntervalSince1970: Double(job.createdAt) / 1e6 - 3600)
        do {
            return try await client.findJob(comment: comment, since: since)
        } catch {
            throw .unavailable("cannot tell whether attempt \(attempt) was already submitted: \(error)")
        }
    }

    // MARK: Observe

    public func observe(_ jobs: [Job]) async -> [String: RunStatus] {
        let queue: [String: SlurmQueueEntry]
        do {
            queue = Dictionary(try await client.queue(user: configuration.user).map { ($0.jobID, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            logger.warning("squeue failed; nothing decided this pass", metadata: ["error": "\(error)"])
            return Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, RunStatus.unknown(reason: "squeue failed: \(error)")) })
        }
        // Jobs that ended or left squeue need sacct (for the exit code, or at all).
        let needAccounting = jobs.filter { job in
            guard let id = job.schedulerJobID else { return false }
            guard let entry = queue[id] else { return true }
            return SlurmStates.isFinal(entry.state)
        }
        let accounting = await accountingRows(for: needAccounting)
        memory.keepOnly(Set(jobs.map(\.id)))
        var out: [String: RunStatus] = [:]
        for job in jobs {
            guard let id = job.schedulerJobID else {
                out[job.id] = .ended(RunEnding(.lost, detail: "no Slurm job id recorded"))
                continue
            }
            let accounted = accounting?[id].flatMap { SlurmStates.status(accounting: $0, memoryMB: job.resources.memoryMB) }
            if let entry = queue[id] {
                memory.seen(job.id)
                if SlurmStates.isFinal(entry.state) {
                    // The exit code (75: "resume me") and the steps' states are only in sacct.
                    out[job.id] = accounted ?? .unknown(reason: "\(entry.state) in squeue; waiting for its accounting")
                } else {
                    out[job.id] = SlurmStates.status(state: entry.state, exitCode: nil, reason: entry.reason)
                }
            } else if let accounted {
                memory.seen(job.id)
                out[job.id] = accounted
            } else {
                let missing = memory.missing(job.id)
                if accounting != nil && missing >= .seconds(configuration.lostAfterSeconds) {
                    out[job.id] = .ended(RunEnding(.lost, detail: "Slurm job \(id) has been in neither squeue nor sacct for \(Int(configuration.lostAfterSeconds)) s"))
                } else {
                    out[job.id] = .unknown(reason: "Slurm job \(id) is not in squeue and not yet in sacct")
                }
            }
        }
        return out
    }

    /// sacct rows of these jobs: from this pass's accounting answer when it
    /// covered them, else one sacct call. nil when slurmdbd did not answer.
    func accountingRows(for jobs: [Job]) async -> [String: [SlurmAccountingEntry]]? {
        let ids = jobs.compactMap(\.schedulerJobID)
        guard !ids.isEmpty else { return [:] }
        let cached = state.withLock { s -> [String: [SlurmAccountingEntry]]? in
            guard ContinuousClock.now - s.accountingTaken < .seconds(5), ids.allSatisfy({ s.accounting[$0] != nil }) else { return nil }
            return s.accounting
        }
        if let cached { return cached }
        let earliest = jobs.map { $0.submittedAt ?? $0.createdAt }.min() ?? Clock.microseconds()
        do {
            let rows = try await client.accounting(jobIDs: ids, since: Self.startTime(earliest))
            return Dictionary(grouping: rows, by: \.allocationID)
        } catch {
            logger.warning("sacct failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// sacct's `--starttime`: an hour before the earliest submission, so a
    /// job submitted before midnight or purged from slurmctld is still found.
    static func startTime(_ submittedMicroseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(submittedMicroseconds) / 1e6 - 3600)
    }

    // MARK: Accounting

    public func accounting(_ attempts: [JobAttempt]) async -> [AttemptKey: [AccountingRow]] {
        let withIDs = attempts.filter { $0.schedulerJobID != nil }
        guard !withIDs.isEmpty else { return [:] }
        let earliest = withIDs.map(\.submittedAt).min() ?? Clock.microseconds()
        let rows: [SlurmAccountingEntry]
        do {
            rows = try await client.accounting(jobIDs: withIDs.compactMap(\.schedulerJobID), since: Self.startTime(earliest))
        } catch {
            logger.warning("sacct failed", metadata: ["error": "\(error)"])
            return [:]
        }
        let grouped = Dictionary(grouping: rows, by: \.allocationID)
        state.withLock {
            $0.accounting = grouped
            $0.accountingTaken = .now
        }
        var out: [AttemptKey: [AccountingRow]] = [:]
        for a in withIDs {
            guard let id = a.schedulerJobID, let entries = grouped[id] else { continue }
            out[AttemptKey(jobID: a.jobID, attempt: a.number)] = entries.map(SlurmStates.row)
        }
        return out
    }

    // MARK: Cancel

    /// `scancel` once, again a minute later if the job is still there. Slurm
    /// sends SIGTERM to every step (g4sim writes restart files and exits)
    /// and SIGKILL after its KillWait.
    public func cancel(_ job: Job) async {
        guard let id = job.schedulerJobID, memory.cancelDue(job.id) else { return }
        do {
            try await client.cancel(jobID: id)
            logger.info("scancel sent", metadata: ["job": "\(job.id)", "slurm_job_id": "\(id)"])
        } catch {
            memory.cancelFailed(job.id)
            logger.warning("scancel failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
    }
}
