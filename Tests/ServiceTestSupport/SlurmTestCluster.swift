import Foundation
import Scheduling

/// A real Slurm cluster for the tests — munge, MariaDB, slurmdbd, slurmctld,
/// slurmd (one node, or two in network namespaces) and slurmrestd — started
/// by the project's own `slurm/cluster` script under a directory of this
/// test process, shared by its tests, and stopped when the process exits.
public final class SlurmTestCluster: Sendable {
    public let directory: URL
    public let nodes: Int

    private static let single = Task<SlurmTestCluster, any Error> { try await SlurmTestCluster(nodes: 1) }
    private static let double = Task<SlurmTestCluster, any Error> { try await SlurmTestCluster(nodes: 2) }
    nonisolated(unsafe) private static var started: [String] = []
    private static let lock = NSLock()

    public static func oneNode() async throws -> SlurmTestCluster { try await single.value }
    public static func twoNodes() async throws -> SlurmTestCluster { try await double.value }

    public static var script: String { Products.packageRoot.appendingPathComponent("slurm/cluster").path }

    init(nodes: Int) async throws {
        self.nodes = nodes
        // Short: munge's socket path must stay under the 108 bytes of a Unix socket name.
        directory = URL(fileURLWithPath: "/tmp/g4slurm-\(getpid())-\(nodes)")
        Self.lock.withLock {
            if Self.started.isEmpty {
                atexit {
                    for dir in SlurmTestCluster.started { _ = try? SlurmTestCluster.cluster(["stop", dir]) }
                }
            }
            Self.started.append(directory.path)
        }
        let result = try await CommandRunner(timeout: .seconds(600)).run([Self.script, "start", directory.path, "--nodes", String(nodes)])
        guard result.succeeded else { throw TestSetupError("slurm/cluster start failed: \(result.stdout) \(result.stderr)") }
    }

    /// Runs slurm/cluster to its end. Output goes to files and the wait is a
    /// plain waitpid: the daemons it starts outlive it, and Foundation's
    /// Process was seen never to notice such a script's exit.
    @discardableResult
    static func cluster(_ arguments: [String]) throws -> String {
        let result = try CommandRunner.runBlocking([script] + arguments, environment: ProcessInfo.processInfo.environment,
                                                   input: nil, timeout: .seconds(600))
        guard result.succeeded else {
            throw TestSetupError("slurm/cluster \(arguments.joined(separator: " ")): \(result.stdout) \(result.stderr)")
        }
        return result.stdout
    }

    public var conf: String { directory.appendingPathComponent("etc/slurm.conf").path }

    /// A fresh folder for one test's job directories, on the cluster's filesystem.
    public func jobsDirectory(_ label: String) -> URL {
        let url = directory.appendingPathComponent("jobs/\(label)-\(UUID().uuidString.prefix(6))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a Slurm client command against this cluster; its stdout.
    @discardableResult
    public func run(_ tool: String, _ arguments: [String]) throws -> String {
        var env = ProcessInfo.processInfo.environment
        env["SLURM_CONF"] = conf
        let result = try CommandRunner.runBlocking(["/usr/bin/" + tool] + arguments, environment: env, input: nil, timeout: .seconds(120))
        guard result.succeeded else { throw TestSetupError("\(tool) \(arguments.joined(separator: " ")): \(result.stderr)") }
        return result.stdout
    }

    /// sacct's lines (`--parsable2`) of every job since an hour ago, all users.
    public func sacct(_ fields: String, allocationsOnly: Bool = true) throws -> [[String]] {
        let since = Date().addingTimeInterval(-3600)
        var t = time_t(since.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        let start = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                           parts.tm_hour, parts.tm_min, parts.tm_sec)
        var args = ["--allusers", "--noheader", "--parsable2", "--starttime=\(start)", "--format=\(fields)"]
        if allocationsOnly { args.append("--allocations") }
        return try run("sacct", args).split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    public func stopDaemon(_ name: String) throws { try Self.cluster(["stop-daemon", directory.path, name]) }
    public func startDaemon(_ name: String) throws { try Self.cluster(["start-daemon", directory.path, name]) }

    /// The site file of the test cluster. Its setup lines give every job a
    /// temporary folder of its own, as sites do with a prolog or
    /// job_container/tmpfs, and put Open MPI's shared-memory segments there:
    /// by default they are in /dev/shm, named by host and job id, and the
    /// test machine's two clusters both have a node n1 (ranks of two jobs
    /// sharing a segment crashed together in the vader transport).
    public var siteFile: String {
        let path = directory.appendingPathComponent("etc/g4-site.conf").path
        let tmp = directory.appendingPathComponent("jobtmp").path
        let lines = """
            setup = export TMPDIR=\(tmp)/$SLURM_JOB_ID && mkdir -p "$TMPDIR"
            setup = export OMPI_MCA_btl_vader_backing_directory="$TMPDIR"

            """
        try? lines.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// g4api/g4sync settings for this cluster; `jobs` is the test's jobs folder.
    public func serviceEnvironment(jobs: URL, g4sim: String = Products.g4sim, site: String? = nil) -> [String: String] {
        [
            "BACKENDS": "slurm", "SLURM_CONF": conf, "SLURM_JOBS_DIR": jobs.path, "SLURM_G4SIM": g4sim,
            "SLURM_POLL_SECONDS": "0.5", "TEMPLATES_DIR": Products.packageRoot.appendingPathComponent("templates").path,
            "SLURM_SITE_CONFIG": site ?? siteFile,
        ]
    }
}
