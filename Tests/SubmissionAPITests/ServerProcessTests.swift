import AsyncHTTPClient
import Foundation
import Jobs
import NIOCore
import NIOHTTP1
import ServiceTestSupport
import Testing

@Suite(.serialized) struct ServerProcessTests {
    /// SIGKILL while clients are POSTing: after a restart every acknowledged
    /// job is stored, none twice, and each runs exactly once.
    @Test func acknowledgedJobsSurviveSIGKILLAndRunOnce() async throws {
        let dir = Products.scratch("durability")
        let fake = try Products.fakeSolver(in: dir)
        let runsLog = dir.appendingPathComponent("runs.log").path
        let server = ServerProcess(directory: dir, environment: ["G4SIM": fake, "RUNS_LOG": runsLog, "LOCAL_SLOTS": "16"])
        let token = try server.token(user: "alice")
        let client = HTTPClient.shared
        try await server.start(client: client)

        let acknowledged = Locked<[String: String]>([:])  // name → id
        let clients = Task {
            await withTaskGroup(of: Void.self) { group in
                for c in 0..<8 {
                    group.addTask {
                        for i in 0..<60 {
                            let name = "c\(c)-\(i)"
                            guard let (status, bytes, _) = try? await server.request(client, .POST, "/api/v1/jobs", token: token,
                                                                                        body: #"{"name": "\#(name)"}"#) else { return }
                            if status == 201, let id = text(try? JSONParser.parse(bytes)["id"]) {
                                acknowledged.withLock { $0[name] = id }
                            }
                        }
                    }
                }
            }
        }
        // Kill in the middle of the stream of POSTs (480 in all).
        try await Wait.until("100 acknowledged POSTs", every: .milliseconds(5)) { acknowledged.withLock { $0.count } >= 100 }
        server.kill(SIGKILL)
        await clients.value
        let acked = acknowledged.withLock { $0 }
        #expect(acked.count >= 100)

        try await server.start(client: client)
        defer { server.kill(SIGTERM) }
        // Wait until every stored job ran: as long as jobs keep completing
        // (how long depends on the machine), failing only on a stall.
        func completed(_ jobs: [JSONValue]) -> Int { jobs.filter { text($0["phase"]) == "completed" }.count }
        let jobs = try await Wait.whileProgressing("every stored job to complete", {
            var jobs: [JSONValue] = []
            var cursor: String?
            repeat {
                let page = try await server.json(client, "/api/v1/jobs?limit=500" + (cursor.map { "&cursor=\($0)" } ?? ""), token: token)
                if case .array(let items)? = page["jobs"] { jobs += items }
                cursor = text(page["next_cursor"])
            } while cursor != nil
            return jobs
        }, progress: completed, done: { completed($0) == $0.count })
        let stored = Dictionary(grouping: jobs, by: { text($0["name"]) ?? "" })
        for (name, id) in acked {
            #expect(stored[name]?.count == 1, "acknowledged \(name) stored \(stored[name]?.count ?? 0) times")
            #expect(text(stored[name]?.first?["id"]) == id)
        }
        #expect(stored.values.allSatisfy { $0.count == 1 }, "a name stored twice")
        let unfinished = jobs.filter { text($0["phase"]) != "completed" }.map { "\(text($0["id"]) ?? "?") \(text($0["phase"]) ?? "?")" }
        #expect(unfinished.isEmpty, "not all jobs completed: \(unfinished)")
        // Each job's solver ran exactly once.
        let runs = (try? String(contentsOfFile: runsLog, encoding: .utf8)) ?? ""
        let runCounts = Dictionary(grouping: runs.split(separator: "\n").map { String($0.split(separator: " ")[0]) }, by: { $0 }).mapValues(\.count)
        for job in jobs {
            let id = text(job["id"]) ?? ""
            #expect(runCounts[id] == 1, "job \(id) ran \(runCounts[id] ?? 0) times")
        }
    }

    /// The main job end to end: a tiny box through the API with the local
    /// backend and the real g4sim; then a 2-rank run cancelled while running.
    @Test func realSimulationThroughTheAPIAndCancel() async throws {
        let dir = Products.scratch("e2e")
        let server = ServerProcess(directory: dir, environment: ["G4SIM": Products.g4sim, "CANCEL_GRACE_SECONDS": "5"])
        let token = try server.token(user: "alice")
        let client = HTTPClient.shared
        try await server.start(client: client)
        defer { server.kill(SIGTERM) }

        let body = #"{"name": "tiny e2e", "num_particles": 4096, "box_size": 50, "time_max": 0.1, "output_times": [0.05, 0.1], "parameters": {"PMGRID": 32}}"#
        let (status, bytes, headers) = try await server.request(client, .POST, "/api/v1/jobs", token: token, body: body)
        #expect(status == 201)
        let id = try #require(text(try JSONParser.parse(bytes)["id"]))
        #expect(headers["Location"].first == "/api/v1/jobs/\(id)")
        // Polled every 100 ms; the run writes progress.json at its first
        // output (a = 0.05) and ends at a = 0.1, seconds later on any machine.
        var progress: [Double] = []
        var phase = ""
        try await Wait.until("the tiny run to end (phase \(phase))", every: .milliseconds(100)) {
            let s = try await server.json(client, "/api/v1/simulations/\(id)/status", token: token)
            phase = text(s["phase"]) ?? ""
            if let p = value(s["progress"]), progress.last != p { progress.append(p) }
            return JobState(rawValue: phase)?.isTerminal == true
        }
        let job = try await server.json(client, "/api/v1/jobs/\(id)", token: token)
        #expect(phase == "completed", "\(job)")
        #expect(progress.last == 100)
        #expect(progress == progress.sorted(), "progress went down: \(progress)")
        #expect(progress.contains { $0 > 0 && $0 < 100 }, "no intermediate progress seen: \(progress)")
        let logs = try await server.json(client, "/api/v1/simulations/\(id)/logs?tail=50", token: token)
        guard case .array(let lines)? = logs["lines"] else { Issue.record("no log lines"); return }
        #expect(lines.contains { text($0)?.contains("g4sim: done") == true })
        let results = try await server.json(client, "/api/v1/simulations/\(id)/results", token: token)
        guard case .array(let files)? = results["files"] else { Issue.record("no files"); return }
        let names = files.compactMap { text($0["name"]) }
        for expected in ["snapshot_000.hdf5", "snapshot_001.hdf5", "fof_tab_001.hdf5", "powerspecs/powerspec_001.txt", "progress.json"] {
            #expect(names.contains(expected), "\(expected) not in \(names)")
        }
        let snap = try #require(files.first { text($0["name"]) == "snapshot_001.hdf5" })
        let (dl, data, _) = try await server.request(client, .GET, "/api/v1/simulations/\(id)/results/snapshot_001.hdf5", token: token)
        #expect(dl == 200 && data.count == Int(value(snap["size"]) ?? -1))
        #expect(text(snap["sha256"]) == sha256Hex(data))
        let (partial, head, rangeHeaders) = try await server.request(client, .GET, "/api/v1/simulations/\(id)/results/snapshot_001.hdf5",
                                                                     token: token, headers: [("Range", "bytes=0-7")])
        #expect(partial == 206 && head == Array(data.prefix(8)) && rangeHeaders["Content-Range"].first == "bytes 0-7/\(data.count)")

        // Cancel a running 2-rank job: its processes stop, none left behind.
        let long = #"{"name": "to cancel", "num_particles": 32768, "resources": {"ranks": 2}, "parameters": {"PMGRID": 64}}"#
        let (s2, b2, _) = try await server.request(client, .POST, "/api/v1/jobs", token: token, body: long)
        #expect(s2 == 201)
        let cid = try #require(text(try JSONParser.parse(b2)["id"]))
        // 32³ to z = 0 on 2 ranks runs for minutes: it is running when cancelled.
        try await Wait.until("the 2-rank job to run with progress", every: .milliseconds(200)) {
            let s = try await server.json(client, "/api/v1/simulations/\(cid)/status", token: token)
            return text(s["phase"]) == "running" && (value(s["progress"]) ?? 0) > 0
        }
        let workdir = dir.appendingPathComponent("results/\(cid)").path
        #expect(try PostgresTestServer.run("/bin/ps", ["-eo", "args"]).contains(workdir) || processesIn(workdir) > 0)
        let (c1, _, _) = try await server.request(client, .DELETE, "/api/v1/jobs/\(cid)", token: token)
        #expect(c1 == 202)
        let (c2, _, _) = try await server.request(client, .DELETE, "/api/v1/jobs/\(cid)", token: token)
        #expect(c2 == 202)
        var cancelled = ""
        try await Wait.until("the cancelled job to end", every: .milliseconds(200)) {
            cancelled = text(try await server.json(client, "/api/v1/jobs/\(cid)", token: token)["phase"]) ?? ""
            return cancelled != "running" && cancelled != "submitted"
        }
        #expect(cancelled == "cancelled")
        #expect(processesIn(workdir) == 0, "processes left in \(workdir)")
        let (c3, b3, _) = try await server.request(client, .DELETE, "/api/v1/jobs/\(id)", token: token)
        #expect(c3 == 409, "\(String(decoding: b3, as: UTF8.self))")
    }
}

extension ServerProcessTests {
    /// SIGTERM: g4api exits cleanly and leaves the running job running; the
    /// next g4api re-attaches to it and records its end.
    @Test func sigtermLeavesRunningJobsRunning() async throws {
        let dir = Products.scratch("sigterm")
        // Held until the test releases it: the run outlives the first g4api by construction.
        let fake = try Products.fakeSolver(in: dir, held: true)
        let server = ServerProcess(directory: dir, environment: ["G4SIM": fake])
        let token = try server.token(user: "alice")
        let client = HTTPClient.shared
        try await server.start(client: client)
        let (status, bytes, _) = try await server.request(client, .POST, "/api/v1/jobs", token: token, body: #"{"name": "survivor"}"#)
        #expect(status == 201)
        let id = try #require(text(try JSONParser.parse(bytes)["id"]))
        let workdir = dir.appendingPathComponent("results/\(id)")
        try await Wait.until("the job's solver to start") { Products.fakeStarted(in: workdir) }
        #expect(processesIn(workdir.path) > 0)
        #expect(server.kill(SIGTERM) == 0)
        #expect(processesIn(workdir.path) > 0, "the job's processes did not outlive g4api")
        try await server.start(client: client)
        defer { server.kill(SIGTERM) }
        // Still held, so it cannot have ended; once released, the new g4api learns how it did.
        let before = text(try await server.json(client, "/api/v1/jobs/\(id)", token: token)["phase"]) ?? ""
        #expect(before == "running" || before == "submitted", "phase \(before) before the run was released")
        Products.release(workdir)
        var phase = ""
        try await Wait.until("the job to end") {
            phase = text(try await server.json(client, "/api/v1/jobs/\(id)", token: token)["phase"]) ?? ""
            return JobState(rawValue: phase)?.isTerminal == true
        }
        #expect(phase == "completed")
        let log = try String(contentsOfFile: workdir.path + "/stdout.log", encoding: .utf8)
        #expect(log.components(separatedBy: "fake g4sim done").count == 2)
    }
}

