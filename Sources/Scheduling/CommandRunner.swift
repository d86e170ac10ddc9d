import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs scheduler commands (sbatch, squeue, sacct, scancel, sacctmgr) with an
/// argument vector, never through a shell, off the event loops, with a time
/// limit after which the command's whole process group is killed.
public struct CommandRunner: Sendable {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// Killed at the time limit.
        public let timedOut: Bool
        public var succeeded: Bool { status == 0 && !timedOut }
    }

    /// Extra environment (SLURM_CONF, ...) over the service's own.
    public var environment: [String: String]
    public var timeout: Duration

    /// Programs started by every runner of this process (the benchmark's forks per poll cycle).
    public static var started: Int { startedCount.load(ordering: .relaxed) }
    private static let startedCount = Atomic<Int>(0)

    public init(environment: [String: String] = [:], timeout: Duration = .seconds(60)) {
        self.environment = environment
        self.timeout = timeout
    }

    public func run(_ arguments: [String], input: String? = nil) async throws -> Result {
        let env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let limit = timeout
        return try await offloaded { try Self.runBlocking(arguments, environment: env, input: input, timeout: limit) }
    }

    /// `run` on the calling thread.
    public static func runBlocking(_ arguments: [String], environment: [String: String], input: String?, timeout: Duration) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("g4cmd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let inPath = scratch.appendingPathComponent("in").path
        let outPath = scratch.appendingPathComponent("out").path
        let errPath = scratch.appendingPathComponent("err").path
        FileManager.default.createFile(atPath: inPath, contents: Data((input ?? "").utf8))
        let pid = try ProcessControl.spawn(arguments, environment: environment, stdin: inPath, stdout: outPath, stderr: errPath)
        startedCount.add(1, ordering: .relaxed)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var status: Int32 = 0
        var pause: useconds_t = 1000
        var timedOut = false
        while waitpid(pid, &status, WNOHANG) == 0 {
            if clock.now >= deadline {
                kill(-pid, SIGKILL)  // its own session and process group
                waitpid(pid, &status, 0)
                timedOut = true
                break
            }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
        let code: Int32 = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Result(status: code, stdout: out, stderr: err, timedOut: timedOut)
    }
}
