import Foundation
import Jobs
import Logging
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
    public let configuration: Configuration
    private let logger: Logger
    private let lock = NSLock()
    /// Job id → ranks of runs believed alive (for the slot count).
    private var active: [String: Int] = [:]

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "g4.backend.local")) {
        self.configuration = configuration
        self.logger = logger
    }

    public func workingDirectory(for job: Job) -> URL {
        configuration.resultsDirectory.appendingPathComponent(job.id, isDirectory: true)
    }

    public func refusal(for job: Job) -> ValidationError? {
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

    public func submit(_ job: Job, resume: Bool) async throws -> Submission {
        let directory = workingDirectory(for: job)
        let attempt = job.attempts + 1
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
            return try self.launch(job, attempt: attempt, directory: directory, resume: resume, claimed: false)
        }
        if let launched { return launched }
        return try await alreadyLaunched(job, attempt: attempt, directory: directory, resume: resume)
    }

    /// Writes the inputs (fresh runs) and starts the wrapper; `claimed`: the
    /// caller made the attempt's claim already.
    private func launch(_ job: Job, attempt: Int, directory: URL, resume: Bool, claimed: Bool) throws -> Submission {
        let fm = FileManager.default
        if !resume || !fm.fileExists(atPath: directory.appendingPathComponent("param.txt").path) {
            try writeDurably(job.parameterFile, to: directory.appendingPathComponent("param.txt"))
            try writeDurably(job.outputList, to: directory.appendingPathComponent("outputs.txt"))
        }
        var command: [String]
        if job.resources.ranks > 1 {
            command = [configuration.mpirun, "-np", String(job.resources.ranks), "--oversubscribe", "--bind-to", "none",
                       configuration.g4sim, "run", "param.txt"]
        } else {
            command = [configuration.g4sim, "run", "param.txt"]
        }
        if resume { command.append("--restart") }
        let script = """
            cd -- "$1" || exit 127
            n=$2; claimed=$3; shift 3
            if [ "$claimed" != 1 ]; then mkdir "attempt-$n.claim" 2>/dev/null || exit 0; fi
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
        return Submission(schedulerJobID: "local:\(pid)", backendData: Self.encode(record))
    }

    /// The attempt was launched by an earlier g4api: find its run from the pid file.
    private func alreadyLaunched(_ job: Job, attempt: Int, directory: URL, resume: Bool) async throws -> Submission {
        let pidFile = directory.appendingPathComponent("attempt-\(attempt).pid")
        // The wrapper claims the attempt and writes its pid first thing; give a just-started one a moment.
        for _ in 0..<50 {
            if let text = try? String(contentsOf: pidFile, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                let start = ProcessControl.startTime(pid) ?? 0
                let record = RunRecord(pid: pid, start: start, attempt: attempt, ranks: job.resources.ranks)
                if ProcessControl.isAlive(pid, startTime: start) { lock.withLock { active[job.id] = job.resources.ranks } }
                logger.info("re-attached to a run started before a restart", metadata: ["job": "\(job.id)", "pid": "\(pid)"])
                return Submission(schedulerJobID: "local:\(pid)", backendData: Self.encode(record))
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
            return try self.launch(job, attempt: attempt, directory: directory, resume: resume, claimed: true)
        }
    }

    // MARK: Observe

    public func observe(_ job: Job) async -> Observation {
        guard let record = Self.decode(job.backendData) else {
            return .vanished(reason: "no run recorded for this job")
        }
        let directory = workingDirectory(for: job)
        let exitFile = directory.appendingPathComponent("attempt-\(record.attempt).exit")
        let reaped = ProcessControl.reap(record.pid)
        if reaped == nil && ProcessControl.isAlive(record.pid, startTime: record.start) {
            lock.withLock { active[job.id] = record.ranks }
            let progress = SolverProgress.read(directory.appendingPathComponent("output/progress.json"))
            return .running(progress: progress?.fractionDone.map { min(100, max(0, $0 * 100)) })
        }
        lock.withLock { _ = active.removeValue(forKey: job.id) }
        if let text = try? String(contentsOf: exitFile, encoding: .utf8), let code = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return .exited(code: code)
        }
        if let reaped { return .exited(code: reaped) }
        return .vanished(reason: "the run (pid \(record.pid)) ended without recording an exit status")
    }

    // MARK: Cancel

    public func cancel(_ job: Job) async {
        guard let record = Self.decode(job.backendData) else { return }
        let session = record.pid
        guard ProcessControl.isAlive(record.pid, startTime: record.start) || !ProcessControl.members(ofSession: session).isEmpty else {
            _ = ProcessControl.reap(record.pid)
            return
        }
        logger.info("cancelling job", metadata: ["job": "\(job.id)", "pid": "\(record.pid)"])
        // g4sim answers SIGTERM by writing restart files and exiting 75.
        ProcessControl.signal(session: session, SIGTERM)
        let deadline = Date().addingTimeInterval(configuration.gracePeriod)
        while Date() < deadline {
            _ = ProcessControl.reap(record.pid)
            if ProcessControl.members(ofSession: session).isEmpty { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        for _ in 0..<50 where !ProcessControl.members(ofSession: session).isEmpty {
            ProcessControl.signal(session: session, SIGKILL)
            _ = ProcessControl.reap(record.pid)
            try? await Task.sleep(for: .milliseconds(100))
        }
        _ = ProcessControl.reap(record.pid)
        lock.withLock { _ = active.removeValue(forKey: job.id) }
    }

    /// Whether any process of the job's current run is alive (for tests and checks).
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

    func writeDurably(_ text: String, to url: URL) throws {
        let tmp = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".tmp")
        try Data(text.utf8).write(to: tmp)
        let fd = open(tmp.path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(tmp.path, url.path) == 0 else { throw BackendError("cannot write \(url.path)") }
    }

    func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
