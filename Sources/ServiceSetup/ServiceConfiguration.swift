import Foundation
import Logging

/// The settings of g4api and g4sync, from environment variables with the
/// names operators already use (DATABASE_URL, API_HOST, API_PORT,
/// RESULTS_DIR, S3_BUCKET, SLURM_CONF), optionally preceded by a config
/// file of `NAME=value` lines (the environment wins over the file). Both
/// executables read the same settings, so one file configures a deployment.
public struct ServiceConfiguration: Sendable {
    public var values: [String: String]

    public static let known: [String: String] = [
        "DATABASE_URL": "sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://user:password@host:port/db (default sqlite:///g4api.db)",
        "API_HOST": "address to listen on (default 127.0.0.1)",
        "API_PORT": "port (default 8000)",
        "RESULTS_DIR": "folder of the local backend's job directories (default ./results)",
        "S3_BUCKET": "reserved for result upload (not used yet)",
        "G4SIM": "the g4sim binary (default: next to g4api)",
        "MPIRUN": "mpirun (default: mpirun on PATH)",
        "LOCAL_SLOTS": "ranks the local backend runs at once (default: number of cores)",
        "LOCAL_POLL_SECONDS": "between two looks at the local backend's runs (default 0.5)",
        "CANCEL_GRACE_SECONDS": "SIGTERM to SIGKILL on cancel (default 10)",
        "CORS_ORIGINS": "comma-separated origins allowed by CORS (default none)",
        "LOG_LEVEL": "trace, debug, info, notice, warning, error or critical (default info)",
        "BACKENDS": "comma-separated backends to run jobs on: local, slurm, kubernetes (default local)",
        "DEFAULT_BACKEND": "the backend a job without one (or with auto) goes to (default: the first of BACKENDS)",
        "SYNC": "which sync loops this process runs: submit,watch (default), submit, watch or none; with a g4sync sidecar, g4api runs submit or none",
        "FALLBACK_AFTER_SECONDS": "a backend that has not taken jobs for this long hands jobs submitted with backend auto to the next of BACKENDS (default 300)",
        "MAX_ATTEMPTS": "attempts a job may use that count against it: time limits, resumes, out-of-memory retries (default 5)",
        "SLURM_CONF": "slurm.conf of the cluster, passed to every Slurm command (default: Slurm's own)",
        "SLURM_BIN_DIR": "folder of sbatch, squeue, sacct, scancel, sacctmgr (default: PATH)",
        "SLURM_SITE_CONFIG": "the site file: partition, account, qos, modules, launcher, extra directives (see slurm/README.md)",
        "SLURM_JOBS_DIR": "folder on the cluster filesystem for the Slurm jobs' directories (default RESULTS_DIR)",
        "SLURM_G4SIM": "g4sim as the compute nodes see it (default G4SIM)",
        "SLURM_USER": "the Slurm user jobs are submitted as, for association checks (default: this process's user)",
        "SLURM_POLL_SECONDS": "between two squeue/sacct rounds (default 15; ≥ 10 on a shared cluster)",
        "SLURM_COMMAND_TIMEOUT": "seconds before a Slurm command is killed (default 60)",
        "KUBECONFIG": "kubeconfig for the Kubernetes backend outside a cluster (default: the pod's service account)",
        "KUBERNETES_NAMESPACE": "namespace of the simulation Jobs (default: the kubeconfig context's, or the pod's own)",
        "KUBERNETES_IMAGE": "the compute image (g4sim with Open MPI, HDF5, FFTW); required with the kubernetes backend",
        "KUBERNETES_PVC": "the PersistentVolumeClaim of the jobs volume, mounted by every simulation pod and by g4sync; required",
        "KUBERNETES_JOBS_DIR": "where this process sees the jobs volume (default RESULTS_DIR)",
        "KUBERNETES_JOBS_MOUNT": "where the simulation pods mount the jobs volume (default /jobs)",
        "KUBERNETES_G4SIM": "g4sim inside the compute image (default g4sim on its PATH)",
        "KUBERNETES_RUN_AS_USER": "the non-root uid the simulation pods run as (default 1000)",
        "KUBERNETES_SERVICE_ACCOUNT": "service account of the simulation pods (default: the namespace's default; their token is not mounted)",
        "KUBERNETES_TTL_SECONDS": "ttlSecondsAfterFinished of the Jobs (default 3600; longer than g4sync may be down)",
        "KUBERNETES_INSTANCE": "label value that tells this service's Jobs from another's in the namespace (default g4)",
        "KUBERNETES_POLL_SECONDS": "between two rounds of Job and pod lists (default 10)",
        "KUBERNETES_REQUEST_TIMEOUT": "seconds before a Kubernetes API request is abandoned (default 30)",
        "UPLOADS_DIR": "folder of uploaded initial conditions and tables (default ./uploads)",
        "UPLOAD_MAX_BYTES": "largest upload of initial conditions, in bytes; larger ones get 413 (default 4294967296)",
        "SWEEP_MAX_POINTS": "most jobs one parameter sweep may create (default 100)",
        "TEMPLATES_DIR": "folder of the scheduler templates (default: the templates/ folder above the executable, else /usr/share/g4/templates)",
    ]

    public init(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        var v: [String: String] = [:]
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ConfigurationError("cannot read config file \(file)")
            }
            for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let eq = line.firstIndex(of: "=") else { throw ConfigurationError("\(file):\(n + 1): expected NAME=value") }
                let key = line[..<eq].trimmingCharacters(in: .whitespaces)
                var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                guard Self.known[key] != nil else {
                    throw ConfigurationError("\(file):\(n + 1): unknown setting \(key); known: \(Self.known.keys.sorted().joined(separator: ", "))")
                }
                v[key] = value
            }
        }
        for key in Self.known.keys { if let e = environment[key], !e.isEmpty { v[key] = e } }
        values = v
    }

    public var databaseURL: String { values["DATABASE_URL"] ?? "sqlite:///g4api.db" }
    public var host: String { values["API_HOST"] ?? "127.0.0.1" }

    public func port() throws -> Int {
        guard let text = values["API_PORT"] else { return 8000 }
        guard let p = Int(text), (0...65535).contains(p) else { throw ConfigurationError("API_PORT must be a port number, got \(text)") }
        return p
    }

    public var resultsDirectory: URL {
        URL(fileURLWithPath: values["RESULTS_DIR"] ?? "results", isDirectory: true).standardizedFileURL
    }

    public var uploadsDirectory: URL {
        URL(fileURLWithPath: values["UPLOADS_DIR"] ?? "uploads", isDirectory: true).standardizedFileURL
    }

    public func maxUploadBytes() throws -> Int64 {
        guard let text = values["UPLOAD_MAX_BYTES"] else { return 4 << 30 }
        guard let n = Int64(text), n >= 1 else { throw ConfigurationError("UPLOAD_MAX_BYTES must be a positive number of bytes, got \(text)") }
        return n
    }

    /// G4SIM, else the g4sim beside this executable.
    public var g4sim: String {
        if let path = values["G4SIM"] { return URL(fileURLWithPath: path).standardizedFileURL.path }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let beside = exe.deletingLastPathComponent().appendingPathComponent("g4sim").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("g4sim").path ?? beside
    }

    public var mpirun: String { values["MPIRUN"] ?? "mpirun" }

    public func slots() throws -> Int {
        guard let text = values["LOCAL_SLOTS"] else { return ProcessInfo.processInfo.activeProcessorCount }
        guard let n = Int(text), n >= 1 else { throw ConfigurationError("LOCAL_SLOTS must be a positive integer, got \(text)") }
        return n
    }

    public func grace() throws -> Double { try seconds("CANCEL_GRACE_SECONDS", default: 10, minimum: 0) }

    /// A duration setting in seconds.
    public func seconds(_ key: String, default value: Double, minimum: Double) throws -> Double {
        guard let text = values[key] else { return value }
        guard let s = Double(text), s.isFinite, s >= minimum else {
            throw ConfigurationError("\(key) must be a number of seconds ≥ \(minimum), got \(text)")
        }
        return s
    }

    public func positiveInteger(_ key: String, default value: Int) throws -> Int {
        guard let text = values[key] else { return value }
        guard let n = Int(text), n >= 1 else { throw ConfigurationError("\(key) must be a positive integer, got \(text)") }
        return n
    }

    public var corsOrigins: Set<String> {
        Set(list("CORS_ORIGINS"))
    }

    /// A comma-separated setting's items.
    public func list(_ key: String) -> [String] {
        (values[key] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// TEMPLATES_DIR, else the first `templates/` folder in an ancestor of
    /// the executable (a checkout), else the installed one.
    public func templatePath(_ relative: String) -> String {
        if let dir = values["TEMPLATES_DIR"] { return dir + "/" + relative }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while url.path != "/" {
            let candidate = url.appendingPathComponent("templates/" + relative)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
            url.deleteLastPathComponent()
        }
        return "/usr/share/g4/templates/" + relative
    }

    public var logLevel: Logger.Level { values["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
