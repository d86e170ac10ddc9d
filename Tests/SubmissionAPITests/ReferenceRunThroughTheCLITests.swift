import AsyncHTTPClient
import Foundation
import Jobs
import ServiceTestSupport
import TestSupport
import Testing

/// GADGET-4's N32 parameter file as a user has it, beside its initial
/// conditions and output list, submitted with `g4 submit param.txt --follow`
/// and run to z = 0 by the real g4sim on 2 ranks. One run (minutes) carries
/// every check that needs a real run: the progress display (plain and on a
/// terminal), the dashboard while it runs and after, and the download of
/// every result with an interrupted download resumed.
/// scripts/test.sh runs it as its own group (`users`).
@Suite(.serialized) struct ReferenceRunThroughTheCLITests {
    static let python = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("python")

    @Test func referenceParameterFileRunsToCompletionThroughTheCLI() async throws {
        let dir = Products.scratch("n32-cli")
        let artefacts = Products.packageRoot.appendingPathComponent(".build/test-artefacts/dashboard")
        try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
        let server = ServerProcess(directory: dir, environment: [
            "G4SIM": Products.g4sim, "LOCAL_SLOTS": "3", "UPLOADS_DIR": dir.appendingPathComponent("uploads").path,
        ])
        let alice = try server.token(user: "alice")
        let bob = try server.token(user: "bob")
        let client = HTTPClient.shared
        try await server.start(client: client)
        defer { server.kill(SIGTERM) }
        let cli = CLI(directory: dir)
        #expect(try cli.run(["login", "http://127.0.0.1:\(server.port)", "--token", alice]).status == 0)

        // Another user's job, for the dashboard's tenancy check.
        let (_, bobBytes, _) = try await server.request(client, .POST, "/api/v1/jobs", token: bob, body: #"{"name": "bobs job", "num_particles": 4096, "time_max": 0.03, "parameters": {"PMGRID": 32}}"#)
        let bobJob = try #require(text(try JSONParser.parse(bobBytes)["id"]))

        // The user's folder: param.txt names ./ic_N32 and outputs.txt beside it.
        let work = dir.appendingPathComponent("n32", isDirectory: true)
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        for name in ["param.txt", "outputs.txt", "ic_N32.hdf5"] {
            try FileManager.default.copyItem(at: Reference.n32.appendingPathComponent(name), to: work.appendingPathComponent(name))
        }
        let followLog = dir.appendingPathComponent("submit.log")
        let submit = try cli.start(["submit", "param.txt", "--ranks", "2", "--follow"], in: work, log: followLog)
        var jobID = ""
        try await Wait.until("g4 submit to print the job id") {
            let log = (try? String(contentsOf: followLog, encoding: .utf8)) ?? ""
            if let line = log.split(separator: "\n").first(where: { $0.hasPrefix("submitted job ") }) {
                jobID = String(line.dropFirst("submitted job ".count).prefix(36))
            }
            if !submit.isRunning && jobID.isEmpty { throw ServiceTestSupport.TestSetupError("g4 submit ended: \(log)") }
            return !jobID.isEmpty
        }
        // The same job on a terminal: the bar is redrawn in place.
        let typescript = dir.appendingPathComponent("watch.typescript")
        let watcher = try cli.start(["watch", jobID], log: typescript, viaTerminal: true)

        // While it runs (32³ to z = 0 runs for minutes): the dashboard's list follows its progress.
        try await Wait.until("the run to report progress") {
            let s = try await server.json(client, "/api/v1/simulations/\(jobID)/status", token: alice)
            return text(s["phase"]) == "running" && (value(s["progress"]) ?? 0) > 0
        }
        let list = try ProcessRunner.run(Products.python, [Self.python.appendingPathComponent("dashboard_check.py").path, "list",
                                                            "http://127.0.0.1:\(server.port)", alice, jobID, artefacts.path])
        #expect(list.status == 0, "dashboard list: \(list.combined)")

        // To the end, as long as the run keeps reporting.
        _ = try await Wait.whileProgressing("g4 submit --follow to end", stall: .seconds(300), {
            ((try? FileManager.default.attributesOfItem(atPath: followLog.path)[.size] as? NSNumber)?.intValue ?? 0, submit.isRunning)
        }, progress: { $0.0 }, done: { !$0.1 })
        let followed = try String(contentsOf: followLog, encoding: .utf8)
        #expect(submit.terminationStatus == 0, "\(followed.suffix(2000))")
        #expect(followed.contains("uploaded ic_N32.hdf5") && followed.contains("uploaded outputs.txt"), "\(followed.prefix(1000))")
        let shown = percentages(followed)
        #expect(shown.count >= 5 && shown == shown.sorted() && shown.last == 100, "progress shown: \(shown)")
        #expect(Set(shown).count >= 5, "the display did not advance: \(shown)")
        #expect(followed.contains("completed"))
        // The run is GADGET-4's reference case on 2 ranks, as the solver group's
        // own 2-rank reference run: scripts/test.sh lets that group use this
        // one instead of running it again (SimulationRuns.reference).
        if submit.terminationStatus == 0, let shared = ProcessInfo.processInfo.environment["G4_SHARED_RUNS"] {
            try dir.appendingPathComponent("results/\(jobID)").path
                .write(toFile: shared + "/n32-2ranks", atomically: true, encoding: .utf8)
        }
        try await Wait.until("g4 watch to end with the job") { !watcher.isRunning }
        let tty = try String(contentsOf: typescript, encoding: .utf8)
        #expect(watcher.terminationStatus == 0)
        #expect(tty.contains("\r\u{1B}[K") && tty.contains("ETA") && Set(percentages(tty)).count >= 3, "\(tty.suffix(600))")

        // Every result, each SHA-256 checked; a download killed half-way resumes where it stopped.
        let results = try JSONParser.parse(Array(try cli.run(["results", jobID, "--json"]).stdout.utf8))
        guard case .array(let files)? = results["files"] else { Issue.record("no results"); return }
        let sizes = Dictionary(uniqueKeysWithValues: files.compactMap { f in text(f["name"]).map { ($0, Int(value(f["size"]) ?? 0)) } })
        for name in ["snapshot_000.hdf5", "snapshot_002.hdf5", "fof_tab_002.hdf5", "powerspecs/powerspec_002.txt"] {
            #expect(sizes[name] != nil, "\(name) not among \(sizes.keys.sorted())")
        }
        let download = dir.appendingPathComponent("download", isDirectory: true)
        let first = try cli.start(["results", jobID, "--download", download.path, "--parallel", "1", "--limit-rate", "200000"],
                                  log: dir.appendingPathComponent("download-1.log"))
        var partial: (name: String, bytes: Int)?
        try await Wait.until("a download to be under way", every: .milliseconds(10)) {
            // A snapshot (930 kB, over 4 s at this rate) well under way: the kill lands mid-file.
            partial = Self.partFiles(download).first { $0.name.hasPrefix("snapshot_") && $0.bytes >= 65536 }
            if !first.isRunning { throw ServiceTestSupport.TestSetupError("the rate-limited download ended before it could be interrupted") }
            return partial != nil
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let interrupted = try #require(Self.partFiles(download).first)
        let complete = Set(Self.completeFiles(download))
        #expect(interrupted.bytes < sizes[interrupted.name] ?? 0)
        let servedBefore = try await Self.bytesServed(server, client)
        let second = try cli.run(["results", jobID, "--download", download.path, "--json"])
        #expect(second.status == 0, "\(second.combined)")
        let report = try JSONParser.parse(Array(second.stdout.utf8))
        guard case .array(let fetched)? = report["files"] else { Issue.record("no report: \(second.stdout)"); return }
        var expectedBytes = 0
        for item in fetched {
            let name = text(item["name"]) ?? "", size = sizes[name] ?? -1
            let resumedFrom = Int(value(item["resumed_from"]) ?? -1), bytes = Int(value(item["fetched"]) ?? -1)
            if complete.contains(name) {
                #expect(bytes == 0 && text(item["status"]) == "present", "\(name) fetched again: \(item)")
            } else if name == interrupted.name {
                #expect(resumedFrom == interrupted.bytes && bytes == size - interrupted.bytes, "\(name): \(item), part had \(interrupted.bytes)")
            } else {
                #expect(bytes == size, "\(name): \(item)")
            }
            expectedBytes += bytes
            let data = try Data(contentsOf: download.appendingPathComponent(name))
            #expect(data.count == size && text(item["sha256"]) == sha256Hex(Array(data)), "\(name)")
        }
        #expect(Set(fetched.compactMap { text($0["name"]) }) == Set(sizes.keys))
        #expect(try await Self.bytesServed(server, client) - servedBefore == expectedBytes, "the server sent other than the missing bytes")
        #expect(Self.partFiles(download).isEmpty)

        // The finished job's page: plots, image, results, log, script; another user's job is not there.
        let page = try ProcessRunner.run(Products.python, [Self.python.appendingPathComponent("dashboard_check.py").path, "job",
                                                            "http://127.0.0.1:\(server.port)", alice, jobID, bobJob, artefacts.path])
        #expect(page.status == 0, "dashboard job page: \(page.combined)")
    }

    /// `name.part` files under `folder` (downloads under way) with their sizes.
    static func partFiles(_ folder: URL) -> [(name: String, bytes: Int)] {
        let walker = FileManager.default.enumerator(atPath: folder.path)
        var out: [(String, Int)] = []
        while let relative = walker?.nextObject() as? String {
            guard relative.hasSuffix(".part") else { continue }
            let size = (try? FileManager.default.attributesOfItem(atPath: folder.path + "/" + relative)[.size] as? NSNumber)?.intValue ?? 0
            out.append((String(relative.dropLast(5)), size))
        }
        return out
    }

    static func completeFiles(_ folder: URL) -> [String] {
        let walker = FileManager.default.enumerator(atPath: folder.path)
        var out: [String] = []
        while let relative = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: folder.path + "/" + relative, isDirectory: &isDirectory)
            if !isDirectory.boolValue && !relative.hasSuffix(".part") { out.append(relative) }
        }
        return out
    }

    /// g4api's count of result bytes it sent (Prometheus, /metrics).
    static func bytesServed(_ server: ServerProcess, _ client: HTTPClient) async throws -> Int {
        let (_, bytes, _) = try await server.request(client, .GET, "/metrics")
        let text = String(decoding: bytes, as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("g4_result_bytes_sent_total") }
        return Int(Double(line?.split(separator: " ").last ?? "0") ?? 0)
    }
}
