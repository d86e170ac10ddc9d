import AsyncHTTPClient
import Foundation
import Jobs
import ServiceTestSupport
import TestSupport
import Testing

/// The `g4` CLI, run as users run it, against a real g4api.
struct CLI {
    let config: URL
    let directory: URL

    init(directory: URL) {
        self.directory = directory
        config = directory.appendingPathComponent("g4-config.json")
    }

    static var binary: String { Products.directory.appendingPathComponent("g4").path }

    @discardableResult
    func run(_ arguments: [String], in folder: URL? = nil, environment: [String: String] = [:]) throws -> ProcessResult {
        try ProcessRunner.run(Self.binary, arguments, directory: folder ?? directory,
                              environment: ["G4_CONFIG": config.path, "G4_URL": "", "G4_TOKEN": ""].merging(environment) { $1 })
    }

    /// Starts `g4 ARGUMENTS` with its output in `log`, for commands that run long.
    func start(_ arguments: [String], in folder: URL? = nil, log: URL, viaTerminal: Bool = false) throws -> Process {
        let p = Process()
        FileManager.default.createFile(atPath: log.path, contents: nil)
        if viaTerminal {
            // util-linux script(1) gives the CLI a pseudo-terminal; the typescript is what a user saw.
            p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
            let command = ([Self.binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
            p.arguments = ["-q", "-e", "-c", "COLUMNS=100 " + command, log.path]
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        } else {
            p.executableURL = URL(fileURLWithPath: Self.binary)
            p.arguments = arguments
            let handle = try FileHandle(forWritingTo: log)
            p.standardOutput = handle
            p.standardError = handle
        }
        p.currentDirectoryURL = folder ?? directory
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        env["G4_CONFIG"] = config.path
        env["G4_URL"] = nil
        env["G4_TOKEN"] = nil
        p.environment = env
        try p.run()
        return p
    }
}

/// Percentages a progress display showed, in order ("  42.5 %").
func percentages(_ text: String) -> [Double] {
    let pattern = try! NSRegularExpression(pattern: #"([0-9]+(?:\.[0-9])?) ?%"#)
    return pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
        Range($0.range(at: 1), in: text).flatMap { Double(text[$0]) }
    }
}

@Suite(.serialized) struct CLITests {
    /// login (config file 0600), a sweep of 6 points through the CLI: 6 jobs run, listed,
    /// followed and cancelled as a group; list/status/logs/cancel and their exit codes.
    @Test func sweepOfSixPointsRunsAndIsCancelledAsAGroup() async throws {
        let dir = Products.scratch("cli-sweep")
        let fake = try Products.fakeSolver(in: dir, held: true)
        let server = ServerProcess(directory: dir, environment: ["G4SIM": fake, "LOCAL_SLOTS": "6", "SWEEP_MAX_POINTS": "6"])
        let token = try server.token(user: "alice")
        let other = try server.token(user: "bob")
        try await server.start(client: HTTPClient.shared)
        defer { server.kill(SIGTERM) }
        let cli = CLI(directory: dir)
        let url = "http://127.0.0.1:\(server.port)"

        #expect(try cli.run(["login", url, "--token", "g4_wrong"]).status == 4)
        let login = try cli.run(["login", url, "--token", token])
        #expect(login.status == 0, "\(login.combined)")
        let mode = try FileManager.default.attributesOfItem(atPath: cli.config.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(try String(contentsOf: cli.config, encoding: .utf8).contains(token))

        let spec = dir.appendingPathComponent("sweep.json")
        try #"{"name": "scan", "base": {"num_particles": 4096}, "vary": {"Sigma8": {"from": 0.7, "to": 0.9, "steps": 3}, "Seed": [1, 2]}}"#
            .write(to: spec, atomically: true, encoding: .utf8)
        let tooBig = dir.appendingPathComponent("big.json")
        try #"{"name": "big", "vary": {"Sigma8": [0.7, 0.8, 0.9], "Seed": [1, 2, 3]}}"#.write(to: tooBig, atomically: true, encoding: .utf8)
        let refused = try cli.run(["sweep", "submit", tooBig.path])
        #expect(refused.status == 6 && refused.stderr.contains("vary") && refused.stderr.contains("9 points"), "\(refused.combined)")

        let submitted = try cli.run(["sweep", "submit", spec.path, "--json"])
        #expect(submitted.status == 0, "\(submitted.combined)")
        let sweep = try JSONParser.parse(Array(submitted.stdout.utf8))
        let id = try #require(text(sweep["id"]))
        guard case .array(let jobs)? = sweep["jobs"] else { Issue.record("no jobs: \(submitted.stdout)"); return }
        #expect(jobs.count == 6)
        let ids = jobs.compactMap { text($0["id"]) }
        // All six run at once (held by the stand-in solver until released).
        try await Wait.until("the six points to start") {
            ids.allSatisfy { Products.fakeStarted(in: dir.appendingPathComponent("results/\($0)")) }
        }
        try await Wait.until("the store to see six running") {
            let s = try JSONParser.parse(Array(try cli.run(["sweep", "status", id, "--json"]).stdout.utf8))
            return value(s["counts"]?["running"]) == 6
        }
        let table = try cli.run(["list", "--status", "running"])
        #expect(table.status == 0 && table.stdout.split(separator: "\n").filter { $0.contains("scan ") }.count == 6, "\(table.stdout)")
        let listed = try cli.run(["sweep", "list"])
        #expect(listed.stdout.contains(id) && listed.stdout.contains("running 6"), "\(listed.stdout)")

        // Follow the group while half of it finishes, then cancel the rest as a group.
        let followLog = dir.appendingPathComponent("follow.log")
        let follower = try cli.start(["sweep", "status", id, "--follow"], log: followLog)
        for j in ids.prefix(3) { Products.release(dir.appendingPathComponent("results/\(j)")) }
        try await Wait.until("three points to complete") {
            let s = try JSONParser.parse(Array(try cli.run(["sweep", "status", id, "--json"]).stdout.utf8))
            return value(s["counts"]?["completed"]) == 3
        }
        let cancel = try cli.run(["sweep", "cancel", id])
        #expect(cancel.status == 0, "\(cancel.combined)")
        try await Wait.until("the follower to see the sweep end") { !follower.isRunning }
        let followed = try String(contentsOf: followLog, encoding: .utf8)
        #expect(follower.terminationStatus == 2, "a sweep with cancelled points is not a success: \(followed)")
        #expect(followed.contains("completed 3") && followed.contains("cancelled 3"), "\(followed)")
        let final = try JSONParser.parse(Array(try cli.run(["sweep", "status", id, "--json"]).stdout.utf8))
        #expect(value(final["counts"]?["completed"]) == 3 && value(final["counts"]?["cancelled"]) == 3 && text(final["state"]) == "ended")

        // One job's commands and the documented exit codes.
        let done = ids[0]
        let status = try cli.run(["status", done])
        #expect(status.status == 0 && status.stdout.contains("completed"), "\(status.combined)")
        let logs = try cli.run(["logs", done, "--tail", "5"])
        #expect(logs.stdout.contains("fake g4sim done"), "\(logs.combined)")
        let results = try cli.run(["results", done, "--json"])
        #expect(results.stdout.contains("snapshot_000.hdf5"))
        #expect(try cli.run(["status", "00000000-0000-0000-0000-000000000000"]).status == 3)
        #expect(try cli.run(["cancel", done]).status == 6)  // it ended: 409
        #expect(try cli.run(["status", done], environment: ["G4_TOKEN": other]).status == 3)  // bob's view: not found
        #expect(try cli.run(["list"], environment: ["G4_TOKEN": "g4_nope"]).status == 4)
        #expect(try cli.run(["list"], environment: ["G4_URL": "http://127.0.0.1:1"]).status == 5)
        let completion = try cli.run(["--generate-completion-script", "bash"])
        #expect(completion.status == 0 && completion.stdout.contains("_g4"))
    }

    /// A client generated by openapi-python-client from the document the running g4api
    /// serves (fetched without a token) submits a real tiny run, follows it and downloads
    /// every result with matching SHA-256, and a range.
    @Test func generatedPythonClientSubmitsFollowsAndDownloads() async throws {
        let dir = Products.scratch("python-client")
        let server = ServerProcess(directory: dir, environment: ["G4SIM": Products.g4sim])
        let token = try server.token(user: "portal")
        try await server.start(client: HTTPClient.shared)
        defer { server.kill(SIGTERM) }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python/generated_client_check.py")
        let result = try ProcessRunner.run(Products.python, [script.path, "http://127.0.0.1:\(server.port)", token,
                                                              dir.appendingPathComponent("client").path])
        #expect(result.status == 0, "\(result.combined)")
        let report = try JSONParser.parse(Array((result.stdout.split(separator: "\n").last ?? "").utf8))
        #expect(text(report["phase"]) == "completed", "\(result.stdout)")
        guard case .array(let files)? = report["files"] else { Issue.record("no files: \(result.stdout)"); return }
        let names = files.compactMap(text)
        #expect(names.contains("snapshot_000.hdf5") && names.contains("powerspecs/powerspec_000.txt"), "\(names)")
        #expect(value(report["range_status"]) == 206 && value(report["range_bytes"]) == 4)
    }
}
