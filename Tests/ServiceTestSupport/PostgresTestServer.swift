import Foundation
import JobStore
import Jobs

/// A throwaway PostgreSQL server for the tests: initdb into a temporary
/// folder, listen on 127.0.0.1 on a free port, stopped and removed when the
/// test process exits. As root (CI), it runs as the system user `g4test`
/// (created if missing), since initdb refuses root. G4_TEST_POSTGRES_URL
/// points the tests at an existing server instead.
public enum PostgresTestServer {
    struct Server: Sendable {
        let baseURL: String
        let host: String
        let port: Int
        let user: String
    }

    nonisolated(unsafe) static var serverPID: pid_t = 0
    nonisolated(unsafe) static var dataDirectory: String?

    static let started = Task<Server, any Error> { try start() }
    nonisolated(unsafe) static var counter = 0
    static let counterLock = NSLock()

    /// The URL of a new, empty database on the shared test server.
    public static func freshDatabaseURL() async throws -> String {
        let server = try await started.value
        let name = counterLock.withLock { () -> String in
            counter += 1
            return "g4test_\(getpid())_\(counter)"
        }
        try run(binary("psql"), ["-h", server.host, "-p", String(server.port), "-U", server.user, "-d", "postgres", "-v",
                                 "ON_ERROR_STOP=1", "-q", "-c", "CREATE DATABASE \(name)"])
        return "postgresql://\(server.user)@\(server.host):\(server.port)/\(name)"
    }

    static func binary(_ name: String) -> String {
        let fm = FileManager.default
        for version in ["17", "16", "15", "14", "13"] {
            let path = "/usr/lib/postgresql/\(version)/bin/\(name)"
            if fm.isExecutableFile(atPath: path) { return path }
        }
        return name
    }

    static func start() throws -> Server {
        if let url = ProcessInfo.processInfo.environment["G4_TEST_POSTGRES_URL"], let c = URLComponents(string: url) {
            return Server(baseURL: url, host: c.host ?? "127.0.0.1", port: c.port ?? 5432, user: c.user ?? "postgres")
        }
        let isRoot = getuid() == 0
        let user = isRoot ? "g4test" : (ProcessInfo.processInfo.environment["USER"] ?? "postgres")
        if isRoot {
            if (try? run("/usr/bin/id", ["-u", user])) == nil {
                try run("/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user])
            }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("g4pg-\(getpid())-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if isRoot { try run("/bin/chown", [user, dir]) }
        dataDirectory = dir
        atexit {
            if PostgresTestServer.serverPID > 0 {
                kill(PostgresTestServer.serverPID, SIGINT)  // fast shutdown
                var status: Int32 = 0
                for _ in 0..<100 {
                    if waitpid(PostgresTestServer.serverPID, &status, WNOHANG) != 0 { break }
                    usleep(50_000)
                }
                kill(PostgresTestServer.serverPID, SIGKILL)
            }
            if let d = PostgresTestServer.dataDirectory { try? FileManager.default.removeItem(atPath: d) }
        }
        func asUser(_ argv: [String]) -> (String, [String]) {
            isRoot ? ("/usr/bin/setpriv", ["--reuid", user, "--regid", user, "--clear-groups", "--"] + argv) : (argv[0], Array(argv.dropFirst()))
        }
        let data = dir + "/data"
        let (initdb, initArgs) = asUser([binary("initdb"), "-D", data, "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
        try run(initdb, initArgs)
        let port = freePort()
        let (postgres, args) = asUser([binary("postgres"), "-D", data, "-p", String(port), "-k", dir,
                                       "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                                       "-c", "full_page_writes=off", "-c", "max_connections=200"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: postgres)
        process.arguments = args
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let log = dir + "/server.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        serverPID = process.processIdentifier
        for _ in 0..<300 {
            if (try? run(binary("pg_isready"), ["-h", "127.0.0.1", "-p", String(port), "-q"])) != nil {
                return Server(baseURL: "postgresql://\(user)@127.0.0.1:\(port)/postgres", host: "127.0.0.1", port: port, user: user)
            }
            if !process.isRunning { break }
            usleep(100_000)
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw TestSetupError("PostgreSQL did not start on port \(port): \(text.suffix(2000))")
    }

    /// A port the kernel just handed out (and released).
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Runs a program to completion; throws with its output when it fails.
    @discardableResult
    public static func run(_ path: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard p.terminationStatus == 0 else { throw TestSetupError("\(path) \(args.joined(separator: " ")) failed: \(text)") }
        return text
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The two stores every repository and API test runs against.
public enum StoreKind: String, CaseIterable, Sendable {
    case sqlite, postgres

    /// A fresh, empty, migrated store.
    public func makeStore() async throws -> any JobStorage {
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("g4store-\(UUID().uuidString.prefix(8))")
            return try SQLiteJobRepository(path: dir.appendingPathComponent("jobs.db").path)
        case .postgres:
            return try await PostgresJobRepository(url: try await PostgresTestServer.freshDatabaseURL())
        }
    }
}


/// Small, valid job specs for tests.
public enum TestJobs {
    /// A tiny run: 16³ particles, PMGRID 32, from a = 1/64 to 0.05 (a few seconds of g4sim).
    public static let tinyBody = """
        {"name": "tiny box", "num_particles": 4096, "box_size": 50, "time_max": 0.05,
         "parameters": {"PMGRID": 32, "MaxSizeTimestep": 0.05}}
        """

    public static func spec(name: String = "test job", body: String? = nil) throws -> JobSpec {
        let text = body ?? #"{"name": "\#(name)", "num_particles": 4096, "box_size": 50, "time_max": 0.05, "parameters": {"PMGRID": 32}}"#
        return try JobRequest.validate(try JSONParser.parse(Array(text.utf8)))
    }
}
