import AsyncHTTPClient
import Foundation
import Jobs
import NIOCore
import NIOHTTP1

/// A real g4api or g4sync process, started with its settings in the
/// environment (as an operator would), its output in `NAME.log` of its directory.
public final class ServiceProcess: @unchecked Sendable {
    public let directory: URL
    public let executable: String
    public let name: String
    public private(set) var environment: [String: String]
    public private(set) var process: Process?

    public init(_ executable: String, name: String, directory: URL, environment: [String: String]) {
        self.executable = executable
        self.name = name
        self.directory = directory
        var env = ProcessInfo.processInfo.environment
        env["LOG_LEVEL"] = "info"
        for (k, v) in environment { env[k] = v }
        self.environment = env
    }

    public var log: URL { directory.appendingPathComponent("\(name).log") }
    public var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
    public var isRunning: Bool { process?.isRunning ?? false }

    /// Starts it (again), appending to its log.
    public func launch(arguments: [String] = []) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.environment = environment
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        p.standardError = handle
        p.standardOutput = handle
        // The test runner's threads block SIGTERM and friends; a child inherits the mask.
        var none = sigset_t(), previous = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try p.run()
        process = p
    }

    /// Signals it and waits for it; its exit status.
    @discardableResult
    public func kill(_ signal: Int32) -> Int32 {
        guard let p = process else { return -1 }
        Foundation.kill(p.processIdentifier, signal)
        p.waitUntilExit()
        process = nil
        return p.terminationStatus
    }

    deinit { if let p = process { Foundation.kill(p.processIdentifier, SIGKILL) } }
}

/// A real g4api process on 127.0.0.1, driven over HTTP.
public final class ServerProcess: @unchecked Sendable {
    public let directory: URL
    public let port: Int
    public let service: ServiceProcess
    public var environment: [String: String] { service.environment }

    /// SQLite under `directory` unless `environment` names another DATABASE_URL.
    public init(directory: URL, environment extra: [String: String], name: String = "g4api") {
        self.directory = directory
        port = PostgresTestServer.freePort()
        var env: [String: String] = [
            "DATABASE_URL": "sqlite:///" + directory.appendingPathComponent("g4api.db").path,  // absolute: four slashes
            "API_HOST": "127.0.0.1", "API_PORT": String(port), "RESULTS_DIR": directory.appendingPathComponent("results").path,
            "UPLOADS_DIR": directory.appendingPathComponent("uploads").path, "LOG_LEVEL": "warning",
        ]
        for (k, v) in extra { env[k] = v }
        service = ServiceProcess(Products.g4api, name: name, directory: directory, environment: env)
    }

    public var logText: String { service.logText }

    public func token(user: String, admin: Bool = false) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Products.g4api)
        p.arguments = ["token", "create", "--user", user] + (admin ? ["--admin"] : [])
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard p.terminationStatus == 0, let last = lines.last, last.hasPrefix("g4_") else {
            throw TestSetupError("token create failed: \(String(decoding: data, as: UTF8.self))")
        }
        return String(last)
    }

    public func start(client: HTTPClient) async throws {
        try service.launch(arguments: ["serve"])
        do {
            try await Wait.until("g4api to answer /health") {
                guard service.isRunning else { throw TestSetupError("g4api exited") }
                return (try? await request(client, .GET, "/health"))?.0 == 200
            }
        } catch {
            throw TestSetupError("g4api did not come up (\(error)): \(logText.suffix(4000))")
        }
    }

    /// Signals g4api and waits for it; its exit status.
    @discardableResult
    public func kill(_ signal: Int32) -> Int32 { service.kill(signal) }

    public func request(_ client: HTTPClient, _ method: HTTPMethod, _ path: String, token: String? = nil, body: String? = nil,
                        headers: [(String, String)] = []) async throws -> (Int, [UInt8], HTTPHeaders) {
        var r = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        r.method = method
        if let token { r.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (k, v) in headers { r.headers.add(name: k, value: v) }
        if let body {
            r.headers.add(name: "Content-Type", value: "application/json")
            r.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(r, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), Array(bytes.readableBytesView), response.headers)
    }

    public func json(_ client: HTTPClient, _ path: String, token: String) async throws -> JSONValue {
        let (status, bytes, _) = try await request(client, .GET, path, token: token)
        guard status == 200 else { throw TestSetupError("GET \(path): \(status) \(String(decoding: bytes, as: UTF8.self))") }
        return try JSONParser.parse(bytes)
    }

    /// POSTs a job; its id (throws unless 201).
    public func submit(_ client: HTTPClient, _ body: String, token: String) async throws -> String {
        let (status, bytes, _) = try await request(client, .POST, "/api/v1/jobs", token: token, body: body)
        guard status == 201, let id = text(try JSONParser.parse(bytes)["id"]) else {
            throw TestSetupError("POST /api/v1/jobs: \(status) \(String(decoding: bytes, as: UTF8.self))")
        }
        return id
    }

    /// Waits for the job to reach a terminal phase; the job's JSON.
    public func waitForEnd(_ client: HTTPClient, _ id: String, token: String, every: Duration = .milliseconds(250)) async throws -> JSONValue {
        var job = JSONValue.null
        try await Wait.until("job \(id) to end (now \(text(job["phase"]) ?? "?"))", every: every) {
            job = try await json(client, "/api/v1/jobs/\(id)", token: token)
            return JobState(rawValue: text(job["phase"]) ?? "")?.isTerminal == true
        }
        return job
    }

    /// A gauge or counter of /metrics (the first sample whose line starts with `prefix`).
    public func metric(_ client: HTTPClient, _ prefix: String) async throws -> Double? {
        let (_, bytes, _) = try await request(client, .GET, "/metrics")
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix(prefix) {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }
}

public func text(_ v: JSONValue?) -> String? { if case .string(let s)? = v { return s }; return nil }
public func value(_ v: JSONValue?) -> Double? { if case .number(let s)? = v { return Double(s) }; return nil }
public func items(_ v: JSONValue?) -> [JSONValue] { if case .array(let a)? = v { return a }; return [] }

/// Processes whose working directory is `path`.
public func processesIn(_ path: String) -> Int {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { Int($0) != nil }.filter { pid in
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == path
    }.count
}

/// Processes whose command line contains `fragment` (e.g. a job's directory).
public func processesMentioning(_ fragment: String) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { Int($0) != nil && Int($0) != Int(getpid()) }.compactMap { pid in
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        return line.contains(fragment) ? "\(pid): \(line)" : nil
    }
}

public func sha256Hex(_ bytes: [UInt8]) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    let inPipe = Pipe(), outPipe = Pipe()
    p.standardInput = inPipe
    p.standardOutput = outPipe
    try? p.run()
    inPipe.fileHandleForWriting.write(Data(bytes))
    try? inPipe.fileHandleForWriting.close()
    let out = outPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(String(decoding: out, as: UTF8.self).prefix(64))
}

public final class Locked<T>: @unchecked Sendable {
    private var value: T
    private let lock = NSLock()
    public init(_ v: T) { value = v }
    public func withLock<R>(_ body: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
}
