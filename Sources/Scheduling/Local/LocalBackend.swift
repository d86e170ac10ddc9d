import Foundation
import Jobs
import Logging
import RunContract
#if canImport(Glibc)
import Glibc
#endif

/// Runs jobs on this machine: `mpirun -np N g4sim run param.txt` (g4sim
/// alone for one rank) in the job's own directory under the results folder.
///
/// Each attempt runs under a small `/bin/sh` wrapper, the leader of a new
/// session, which records its pid and, when the solver ends, its exit status
/// in files of the job directory. That is what lets a restarted g4api
/// re-attach to runs that outlived it (pid + kernel start time) and learn
/// how runs that ended meanwhile finished. Before starting an attempt the
/// backend creates `attempt-N.launch` exclusively: if the marker exists, the
/// attempt was started already, and submit returns that run instead of
/// starting a second one. A wrapper runs the solver only after claiming the
/// attempt (`mkdir attempt-N.claim`, atomic): a g4api that finds a marker but
/// no claim (it was killed between the two) claims the attempt itself and
/// starts it, and a late wrapper of the killed g4api then finds the claim
/// taken and exits without running. Every attempt runs exactly once.
///
/// Cancel is polite first: SIGUSR1 to the run's session, which mpirun
/// forwards to the ranks without ending the job itself (SIGTERM would make it
/// kill them) and on which g4sim writes restart files and exits 75; the
/// wrapper traps it, so that it outlives the solver and records its status.
/// Calls after the grace period send SIGKILL. The run counts as ended only
/// when no process of its session is left.
public final class LocalBackend: Backend, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var resultsDirectory: URL
        /// The g4sim binary.
        public var g4sim: String
        /// mpirun (searched on PATH when not absolute).
        public var mpirun: String
        /// Ranks that may run at once (default: the number of cores).
        public var slots: Int
        /// Between SIGTERM and SIGKILL on cancel.
        public var gracePeriod: Double
        public init(resultsDirectory: URL, g4sim: String, mpirun: String = "mpirun",
                    slots: Int = ProcessInfo.processInfo.activeProcessorCount, gracePeriod: Double = 10) {
            self.resultsDirectory = resultsDirectory
            self.g4sim = g4sim
            self.mpirun = mpirun
            self.slots = slots
            self.gracePeriod = gracePeriod
        }
    }

    /// The run of one attempt, as recorded in the job's backend data.
    struct RunRecord: Codable, Sendable {
        var pid: Int32
        var start: UInt64
        var attempt: Int
        var ranks: Int
    }

    public let kind = BackendKind.local
    /// Writing two files and spawning a wrapper (plus the wait for a just-started wrapper's pid).
    public let submissionSeconds = 15
    public let configuration: Configuration
    private let logger: Logger
    private let lock = NSLock()
    /// Job id → ranks of runs believed alive (for the slot count).
    private var active: [String: Int] = [:]
    /// Job id → when the first SIGTERM of a cancel was sent.
    private var cancelling: [String: ContinuousClock.Instant] = [:]
    /// Wrapper pid → its exit status, once reaped (a run whose wrapper was
    /// reaped may still have processes left; its status is needed later).
    private var reapedStatus: [Int32: Int32] = [:]

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "g4.backend.local")) {
        self.configuration = configuration
        self.logger = logger
    }

    public func directory(for job: Job) -> URL {
        configuration.resultsDirectory.appendingPathComponent(job.id, isDirectory: true)
    }

    public func refusal(for job: Job) async -> ValidationError? {
        if job.resources.nodes > 1 {
            return ValidationError(field: "resources.nodes", message: "the local backend runs on one node")
        }
        if job.resources.ranks > configuration.slots {
            return ValidationError(field: "resources.ranks",
                                   message: "the local backend has \(configuration.slots) slots; ask for at most that many ranks")
        }
        return nil
    }

    public var slotsInUse: Int { lock.withLock { active.values.reduce(0, +) } }

    public func canStart(_ job: Job) async -> Bool {
        lock.withLock { active.values.reduce(0, +) + job.resources.ranks <= configuration.slots || active.isEmpty }
    }

    // MARK: Submit

    public func submit(_ job: Job, plan: AttemptPlan) async throws(SubmitError) -> Submission {
        do {
            return try await start(job, plan: plan)
        } catch {
            throw .refused("could not start: \(error)")
        }
    }

    private func start(_ job: Job, plan: AttemptPlan) async throws -> Submission {
        let directory = directory(for: job)
        let attempt = plan.number
        // fsyncs and the spawn block their thread: keep them off the event loops
        // that g4api's async code runs on.
        let launched = try await offloaded { () throws -> Submission? in
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let marker = directory.appendingPathComponent("attempt-\(attempt).launch").path
            let fd = open(marker, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
            if fd < 0 {
                guard errno == EEXIST else { throw BackendError("cannot create \(marker): \(String(cString: strerror(errno)))") }
                return nil
            }
            fsync(fd)
            close(fd)
            self.syncDirectory(directory.path)
            return try self.launch(job, plan: plan, directory: directory, claimed: false)
        }
        if let launched { return launched }
        return try await alreadyLaunched(job, plan: plan, directory: directory)
    }

    /// Writes the inputs (fresh runs) and starts the wrapper; `claimed`: the
    /// caller made the attempt's claim already.
    private func launch(_ job: Job, plan: AttemptPlan, directory: URL, claimed: Bool) throws -> Submission {
        let attempt = plan.number
        // Written for every attempt: a resumed one may run with more memory.
        try Durable.write(job.parameterFile(memoryMB: plan.memoryMB), to: directory.appendingPathComponent(RunLayout.parameterFile))
        try Durable.write(job.outputList, to: directory.appendingPathComponent(RunLayout.outputList))
        let command = command(for: job, plan: plan)
        let script = """
            cd -- "$1" || exit 127
            n=$2; claimed=$3; shift 3
            if [ "$claimed" != 1 ]; then mkdir "attempt-$n.claim" 2>/dev/null || exit 0; fi
            trap : TERM USR1
            echo $$ > ".attempt-$n.pid" && mv -f ".attempt-$n.pid" "attempt-$n.pid"
            echo "== g4api: attempt $n: $*" >> stdout.log
            "$@" </dev/null >>stdout.log 2>>stderr.log
            code=$?
            echo $code > ".attempt-$n.exit" && mv -f ".attempt-$n.exit" "attempt-$n.exit"
            exit $code
            """
        let pid = try ProcessControl.spawn(["/bin/sh", "-c", script, "g4job", directory.path, String(attempt), claimed ? "1" : "0"] + command,
                                           environment: Self.childEnvironment())
        let start = ProcessControl.startTime(pid) ?? 0
        let record = RunRecord(pid: pid, start: start, attempt: attempt, ranks: job.resources.ranks)
        lock.withLock { active[job.id] = job.resources.ranks }
        logger.info("started job", metadata: ["job": "\(job.id)", "pid": "\(pid)", "attempt": "\(attempt)", "ranks": "\(job.resources.ranks)"])
        return Submission(schedulerJobID: "local:\(pid)", backendData: Self.encode(record),
                          script: shownScript(job, plan: plan, directory: directory))
    }

    /// The attempt's command: g4sim, under mpirun for more than one rank.
    private func command(for job: Job, plan: AttemptPlan) -> [String] {
        var command = [configuration.g4sim, "run", RunLayout.parameterFile]
        if job.resources.ranks > 1 {
            command = [configuration.mpirun, "-np", String(job.resources.ranks), "--oversubscribe", "--bind-to", "none"] + command
        }
        if plan.resume { command.append("--restart") }
        return command
    }

    /// No scheduler here: what users read as the job's script is the command run in its directory.
    private func shownScript(_ job: Job, plan: AttemptPlan, directory: URL) -> String {
        """
        # g4api local backend: job \(job.id), attempt \(plan.number), in a session of its own
        cd \(directory.path)
        \(command(for: job, plan: plan).joined(separator: " ")) >> stdout.log 2>> stderr.log
        """
    }

    /// The attempt was launched by an earlier g4api: find its run from the pid file.
    private func alreadyLaunched(_ job: Job, plan: AttemptPlan, directory: URL) async throws -> Submission {
        let attempt = plan.number
        let pidFile = directory.appendingPathComponent("attempt-\(attempt).pid")
        // The wrapper claims the attempt and writes its pid first thing; give a just-started one
        // a moment. Waiting longer is not needed for correctness: a wrapper that is later still
        // finds the claim below taken and exits without running.
        for _ in 0..<50 {
            if let text = try? String(contentsOf: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                let start = ProcessControl.startTime(pid) ?? 0
                let record = RunRecord(pid: pid, start: start, attempt: attempt, ranks: job.resources.ranks)
                if ProcessControl.isAlive(pid, startTime: start) { lock.withLock { active[job.id] = job.resources.ranks } }
                logger.info("re-attached to a run started before a restart", metadata: ["job": "\(job.id)", "pid": "\(pid)"])
                return Submission(schedulerJobID: "local:\(pid)", backendData: Self.encode(record),
                                  script: shownScript(job, plan: plan, directory: directory))
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        // No wrapper ran: the earlier g4api stopped before starting one. Claim the
        // attempt (a wrapper of its that starts even later then finds it taken) and start it.
        let claim = directory.appendingPathComponent("attempt-\(attempt).claim").path
        logger.info("starting an attempt that an earlier g4api launched but never ran", metadata: ["job": "\(job.id)"])
        return try await offloaded {
            guard mkdir(claim, 0o755) == 0 else {
                throw BackendError("attempt \(attempt) was claimed by a run that recorded no pid; not starting it twice")
            }
            self.syncDirectory(directory.path)
            return try self.launch(job, plan: plan, directory: directory, claimed: true)
        }
    }

    // MARK: Observe

    public func observe(_ jobs: [Job]) async -> [String: RunStatus] {
        // /proc scans and file reads: off the event loops.
        (try? await offloaded { Dictionary(uniqueKeysWithValues: jobs.map { ($0.id, self.status(of: $0)) }) }) ?? [:]
    }

    func status(of job: Job) -> RunStatus {
        guard let record = Self.decode(job.backendData) else { return .ended(RunEnding(.lost, detail: "no run recorded for this job")) }
        if let status = ProcessControl.reap(record.pid) { lock.withLock { reapedStatus[record.pid] = status } }
        let reaped = lock.withLock { reapedStatus[record.pid] }
        let wrapperAlive = reaped == nil && ProcessControl.isAlive(record.pid, startTime: record.start)
        if wrapperAlive || !ProcessControl.members(ofSession: record.pid).isEmpty {
            lock.withLock { active[job.id] = record.ranks }
            return .running
        }
        lock.withLock {
            _ = active.removeValue(forKey: job.id)
            _ = cancelling.removeValue(forKey: job.id)
            _ = reapedStatus.removeValue(forKey: record.pid)
        }
        let exitFile = directory(for: job).appendingPathComponent("attempt-\(record.attempt).exit")
        if let text = try? String(contentsOf: exitFile, encoding: .utf8), let code = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return .ended(Self.ending(exitStatus: code))
        }
        if let reaped { return .ended(Self.ending(exitStatus: reaped)) }
        return .ended(RunEnding(.lost, detail: "the run (pid \(record.pid)) ended without recording an exit status"))
    }

    /// An exit status as the wrapper recorded it (128 + n: killed by signal n).
    static func ending(exitStatus code: Int32) -> RunEnding {
        switch code {
        case 0: RunEnding(.completed, exitCode: 0, detail: "exit status 0")
        case SolverExit.resumeMe: RunEnding(.resumeMe, exitCode: Int(code), detail: "exit status 75 (restart files written)")
        case 129...192: RunEnding(.failed, exitCode: Int(code), detail: "killed by signal \(code - 128)")
        default: RunEnding(.failed, exitCode: Int(code), detail: "exit status \(code)")
        }
    }

    // MARK: Cancel

    public func cancel(_ job: Job) async {
        guard let record = Self.decode(job.backendData) else { return }
        _ = try? await offloaded { self.signal(job, record) }
    }

    /// SIGUSR1 to the run's session first (g4sim answers by writing restart
    /// files and exiting 75), SIGKILL on the calls after the grace period.
    private func signal(_ job: Job, _ record: RunRecord) {
        let session = record.pid
        _ = ProcessControl.reap(record.pid)
        guard ProcessControl.isAlive(record.pid, startTime: record.start) || !ProcessControl.members(ofSession: session).isEmpty else {
            return
        }
        let now = ContinuousClock.now
        let first = lock.withLock { () -> ContinuousClock.Instant in
            if let t = cancelling[job.id] { return t }
            cancelling[job.id] = now
            return now
        }
        if first == now {
            logger.info("cancelling job", metadata: ["job": "\(job.id)", "pid": "\(record.pid)"])
            ProcessControl.signal(session: session, SIGUSR1)
        } else if now - first >= .seconds(configuration.gracePeriod) {
            ProcessControl.signal(session: session, SIGKILL)
        }
    }

    /// Whether any process of the job's run is left (for tests and diagnostics).
    public func hasProcesses(_ job: Job) -> Bool {
        guard let record = Self.decode(job.backendData) else { return false }
        return !ProcessControl.members(ofSession: record.pid).isEmpty
    }

    // MARK: Helpers

    /// g4api's environment, less Open MPI's per-process variables, plus what
    /// mpirun needs when the service runs as root.
    static func childEnvironment() -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") || key.hasPrefix("OPAL_") || key.hasPrefix("ORTE_"))
        }
        if getuid() == 0 {
            env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        }
        return env
    }

    static func encode(_ record: RunRecord) -> String {
        "{\"pid\":\(record.pid),\"start\":\(record.start),\"attempt\":\(record.attempt),\"ranks\":\(record.ranks)}"
    }

    static func decode(_ text: String?) -> RunRecord? {
        guard let text, let data = text.data(using: .utf8) else { return nil }
        return try? JSONDecoder().decode(RunRecord.self, from: data)
    }

    func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
