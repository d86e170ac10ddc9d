import Foundation
import JobStore
import Logging

/// g4api's settings, from environment variables with the names operators
/// already use (DATABASE_URL, API_HOST, API_PORT, RESULTS_DIR, S3_BUCKET),
/// optionally preceded by a config file of `NAME=value` lines (the
/// environment wins over the file).
struct ServiceConfiguration {
    var values: [String: String]

    static let known: [String: String] = [
        "DATABASE_URL": "sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://user:password@host:port/db (default sqlite:///g4api.db)",
        "API_HOST": "address to listen on (default 127.0.0.1)",
        "API_PORT": "port (default 8000)",
        "RESULTS_DIR": "folder of the jobs' working directories (default ./results)",
        "S3_BUCKET": "reserved for result upload (not used yet)",
        "G4SIM": "the g4sim binary (default: next to g4api)",
        "MPIRUN": "mpirun (default: mpirun on PATH)",
        "LOCAL_SLOTS": "ranks the local backend runs at once (default: number of cores)",
        "CANCEL_GRACE_SECONDS": "SIGTERM to SIGKILL on cancel (default 10)",
        "CORS_ORIGINS": "comma-separated origins allowed by CORS (default none)",
        "LOG_LEVEL": "trace, debug, info, notice, warning, error or critical (default info)",
        "DISPATCHER": "on (default) or off: off serves the API without starting jobs (benchmarks, read-only replicas)",
        "UPLOADS_DIR": "folder of uploaded initial conditions and tables (default ./uploads)",
        "UPLOAD_MAX_BYTES": "largest upload of initial conditions, in bytes; larger ones get 413 (default 4294967296)",
        "SWEEP_MAX_POINTS": "most jobs one parameter sweep may create (default 100)",
    ]

    init(file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
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

    var databaseURL: String { values["DATABASE_URL"] ?? "sqlite:///g4api.db" }
    var host: String { values["API_HOST"] ?? "127.0.0.1" }

    func port() throws -> Int {
        guard let text = values["API_PORT"] else { return 8000 }
        guard let p = Int(text), (0...65535).contains(p) else { throw ConfigurationError("API_PORT must be a port number, got \(text)") }
        return p
    }

    var resultsDirectory: URL {
        URL(fileURLWithPath: values["RESULTS_DIR"] ?? "results", isDirectory: true).standardizedFileURL
    }

    var g4sim: String {
        if let path = values["G4SIM"] { return URL(fileURLWithPath: path).standardizedFileURL.path }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let beside = exe.deletingLastPathComponent().appendingPathComponent("g4sim").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("g4sim").path ?? beside
    }

    var uploadsDirectory: URL {
        URL(fileURLWithPath: values["UPLOADS_DIR"] ?? "uploads", isDirectory: true).standardizedFileURL
    }

    func maxUploadBytes() throws -> Int64 {
        guard let text = values["UPLOAD_MAX_BYTES"] else { return 4 << 30 }
        guard let n = Int64(text), n >= 1 else { throw ConfigurationError("UPLOAD_MAX_BYTES must be a positive number of bytes, got \(text)") }
        return n
    }

    func maxSweepPoints() throws -> Int {
        guard let text = values["SWEEP_MAX_POINTS"] else { return 100 }
        guard let n = Int(text), n >= 1 else { throw ConfigurationError("SWEEP_MAX_POINTS must be a positive integer, got \(text)") }
        return n
    }

    var dispatcherEnabled: Bool { (values["DISPATCHER"] ?? "on").lowercased() != "off" }

    var mpirun: String { values["MPIRUN"] ?? "mpirun" }

    func slots() throws -> Int {
        guard let text = values["LOCAL_SLOTS"] else { return ProcessInfo.processInfo.activeProcessorCount }
        guard let n = Int(text), n >= 1 else { throw ConfigurationError("LOCAL_SLOTS must be a positive integer, got \(text)") }
        return n
    }

    func grace() throws -> Double {
        guard let text = values["CANCEL_GRACE_SECONDS"] else { return 10 }
        guard let g = Double(text), g >= 0, g.isFinite else { throw ConfigurationError("CANCEL_GRACE_SECONDS must be ≥ 0") }
        return g
    }

    var corsOrigins: Set<String> {
        Set((values["CORS_ORIGINS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    var logLevel: Logger.Level { values["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info }

    /// Opens the store DATABASE_URL names.
    func openStore(logger: Logger) async throws -> any JobRepository {
        let url = databaseURL
        if url.hasPrefix("sqlite:///") {
            // SQLAlchemy's convention: three slashes and a relative path, four for an absolute one.
            let path = String(url.dropFirst("sqlite:///".count))
            guard !path.isEmpty else { throw ConfigurationError("DATABASE_URL \(url) names no file") }
            return try SQLiteJobRepository(path: path)
        }
        if url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") {
            return try await PostgresJobRepository(url: url, logger: logger)
        }
        throw ConfigurationError("DATABASE_URL must start with sqlite:/// or postgresql://, got \(url)")
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
