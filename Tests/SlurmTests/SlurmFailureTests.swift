import AsyncHTTPClient
import Foundation
import Jobs
import ServiceTestSupport
import Testing

/// A request body from a dictionary (JSONSerialization escapes the text).
func jsonBody(_ object: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
}

extension SlurmClusterTests {
    /// A description with a newline and `#SBATCH --uid=0`, `$(...)` and
    /// backticks is stored verbatim and never reaches the script; a name that
    /// tries the same is refused.
    @Test func freeTextNeverReachesTheScript() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let fake = try Products.fakeSolver(in: Products.scratch("slurm-inject-solver"))
        let (server, token, _) = try await server(cluster, "inject", g4sim: fake)
        defer { server.kill(SIGTERM) }
        let marker = "/tmp/g4-injected-\(UUID().uuidString.prefix(8))"
        let description = "first line\n#SBATCH --uid=0\n$(touch \(marker)) `touch \(marker)`\n#SBATCH --wrap='touch \(marker)'"
        let id = try await server.submit(client, jsonBody(["name": "honest", "backend": "slurm", "description": description]), token: token)
        let job = try await server.waitForEnd(client, id, token: token)
        #expect(text(job["phase"]) == "completed", "\(job)")
        #expect(text(job["description"]) == description)
        let (status, bytes, _) = try await server.request(client, .GET, "/api/v1/jobs/\(id)/script", token: token)
        let script = String(decoding: bytes, as: UTF8.self)
        #expect(status == 200)
        let directives = script.split(separator: "\n").filter { $0.hasPrefix("#SBATCH") }
        print("directives of the rendered script:\n" + directives.joined(separator: "\n"))
        #expect(directives.count == 12 && directives.allSatisfy { !$0.contains("uid") && !$0.contains("wrap") })
        for evil in ["touch", "$(", "`", "first line", "--uid"] { #expect(!script.contains(evil), "\(evil) reached the script") }
        #expect(!FileManager.default.fileExists(atPath: marker), "something executed the description")
        for name in ["x\n#SBATCH --uid=0", "$(touch \(marker))", "`touch \(marker)`", "a;b"] {
            let (code, body, _) = try await server.request(client, .POST, "/api/v1/jobs", token: token,
                                                           body: jsonBody(["name": name, "backend": "slurm"]))
            let field = text(try JSONParser.parse(body)["error"]?["field"])
            #expect(code == 422 && field == "name", "\(name): \(code)")
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    /// A backend that is not configured, and placements the Slurm user has
    /// no association for, are refused before the job is stored, listing the
    /// allowed values; what only Slurm can judge fails the job with Slurm's words.
    @Test func placementsAreCheckedAgainstTheAssociations() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let fake = try Products.fakeSolver(in: Products.scratch("slurm-assoc-solver"))
        let (server, token, _) = try await server(cluster, "assoc", g4sim: fake)
        defer { server.kill(SIGTERM) }
        let refusals: [(String, String, String)] = [
            (#"{"name": "a", "backend": "local"}"#, "backend", "not configured"),
            (#"{"name": "a", "scheduler": {"account": "nosuch"}}"#, "scheduler.account", "allowed: astro, g4"),
            (#"{"name": "a", "scheduler": {"partition": "nosuch"}}"#, "scheduler.partition", "allowed: debug, long"),
            (#"{"name": "a", "scheduler": {"qos": "gold"}}"#, "scheduler.qos", "allowed: normal"),
            (#"{"name": "a", "scheduler": {"account": "a b"}}"#, "scheduler.account", "letters, digits"),
        ]
        for (body, field, words) in refusals {
            let (code, bytes, _) = try await server.request(client, .POST, "/api/v1/jobs", token: token, body: body)
            let error = try JSONParser.parse(bytes)["error"]
            #expect(code == 422 && text(error?["field"]) == field && (text(error?["message"]) ?? "").contains(words),
                    "\(body) → \(code) \(String(decoding: bytes, as: UTF8.self))")
        }
        #expect(value(try await server.json(client, "/api/v1/jobs", token: token)["total"]) == 0, "a refused job was stored")
        let good = try await server.submit(client, #"{"name": "astro", "scheduler": {"account": "astro", "partition": "long", "qos": "normal"}}"#,
                                           token: token)
        #expect(text(try await server.waitForEnd(client, good, token: token)["phase"]) == "completed")
        // More nodes than the cluster has: only sbatch can say (EnforcePartLimits), and the job fails with its words.
        let big = try await server.submit(client, #"{"name": "big", "resources": {"ranks": 3, "nodes": 3}}"#, token: token)
        let failed = try await server.waitForEnd(client, big, token: token)
        let message = text(failed["error_message"]) ?? ""
        #expect(text(failed["phase"]) == "failed" && message.hasPrefix("Slurm refused the job: Batch job submission failed:"), "\(failed)")
        print("Slurm's refusal: \(message)")
    }

    /// g4sync killed with SIGKILL mid-job (the job then ends while no
    /// watcher runs) and started again: the stored log equals the file byte
    /// for byte (no line twice, none missing), the job is `completed` and its
    /// accounting is stored.
    @Test func g4syncKilledAndRestartedMissesAndDuplicatesNothing() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let solverDir = Products.scratch("slurm-sigkill-solver")
        let solver = solverDir.appendingPathComponent("two-halves").path
        // 200 lines, then held until released, then 200 more.
        try """
            #!/bin/sh
            i=1; while [ $i -le 200 ]; do echo "line $i of a run that logs steadily"; i=$((i + 1)); done
            : > half-written
            while [ ! -e fake-release ]; do sleep 0.05; done
            while [ $i -le 400 ]; do echo "line $i of a run that logs steadily"; i=$((i + 1)); done
            """.write(toFile: solver, atomically: true, encoding: .utf8)
        chmod(solver, 0o755)
        let dir = Products.scratch("slurm-sigkill")
        let jobs = cluster.jobsDirectory("sigkill")
        var env = cluster.serviceEnvironment(jobs: jobs, g4sim: solver)
        env["DATABASE_URL"] = "sqlite:///" + dir.appendingPathComponent("g4.db").path
        var apiEnv = env
        apiEnv["SYNC"] = "submit"
        let server = ServerProcess(directory: dir, environment: apiEnv)
        let token = try server.token(user: "alice")
        try await server.start(client: client)
        defer { server.kill(SIGTERM) }
        var syncEnv = env
        syncEnv["SYNC"] = "watch"
        let sync = ServiceProcess(Products.g4sync, name: "g4sync", directory: dir, environment: syncEnv)
        try sync.launch()
        defer { sync.kill(SIGTERM) }

        let id = try await server.submit(client, #"{"name": "steady", "backend": "slurm"}"#, token: token)
        let jobDir = jobs.appendingPathComponent(id)
        try await Wait.until("the first half of the log to be stored") {
            let logs = try await server.json(client, "/api/v1/simulations/\(id)/logs?tail=1", token: token)
            return text(items(logs["lines"]).last)?.hasPrefix("line 200 ") == true
        }
        #expect(sync.kill(SIGKILL) == 9)
        Products.release(jobDir)
        let slurmID = try #require(text(try await server.json(client, "/api/v1/jobs/\(id)", token: token)["scheduler_job_id"]))
        try await Wait.until("Slurm to finish the job while no g4sync runs") {
            try cluster.sacct("JobIDRaw,State").first { $0.first == slurmID }?[1] == "COMPLETED"
        }
        #expect(text(try await server.json(client, "/api/v1/jobs/\(id)", token: token)["phase"]) == "running")
        try sync.launch()  // waits out the killed one's watch lease, then takes over
        let job = try await server.waitForEnd(client, id, token: token)
        #expect(text(job["phase"]) == "completed", "\(job) \(sync.logText.suffix(3000))")
        let file = try String(contentsOf: jobDir.appendingPathComponent("stdout.log"), encoding: .utf8)
        let stored = items(try await server.json(client, "/api/v1/simulations/\(id)/logs?tail=100000", token: token)["lines"]).compactMap(text)
        #expect(stored == file.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init))
        #expect(stored.filter { $0.hasPrefix("line ") }.count == 400 && Set(stored).count == stored.count)
        try await Wait.until("the accounting in the store") {
            let history = items(try await server.json(client, "/api/v1/jobs/\(id)", token: token)["history"])
            return items(history.first?["accounting"]).contains { text($0["step"]) == "" && text($0["state"]) == "COMPLETED" }
        }
    }

    /// slurmctld down while jobs are queued in g4api: they stay `queued`
    /// (sbatch is retried with backoff), and once it is back every one runs,
    /// each submitted exactly once.
    @Test func unreachableControllerKeepsJobsQueued() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let fake = try Products.fakeSolver(in: Products.scratch("slurm-ctld-solver"))
        let (server, token, _) = try await server(cluster, "ctld-down", g4sim: fake, environment: ["LOG_LEVEL": "info"])
        defer { server.kill(SIGTERM) }
        try cluster.stopDaemon("slurmctld")
        var restarted = false
        defer { if !restarted { try? cluster.startDaemon("slurmctld") } }
        var ids: [String] = []
        for i in 0..<5 { ids.append(try await server.submit(client, #"{"name": "while down \#(i)", "resources": {"memory_mb": 100}}"#, token: token)) }
        try await Wait.until("g4api to back off from the unreachable controller") {
            server.logText.contains("backend cannot take jobs now; backing off") && server.logText.contains("Unable to contact slurm controller")
        }
        for id in ids {
            let phase = text(try await server.json(client, "/api/v1/jobs/\(id)", token: token)["phase"])
            #expect(phase == "queued", "\(id) is \(phase ?? "?") while the controller is down")
        }
        try cluster.startDaemon("slurmctld")
        restarted = true
        for id in ids {
            let job = try await server.waitForEnd(client, id, token: token)
            #expect(text(job["phase"]) == "completed" && value(job["attempts"]) == 1, "\(job)")
        }
        let comments = try cluster.sacct("JobIDRaw,Comment").map { $0.count > 1 ? $0[1] : "" }
        for id in ids {
            #expect(comments.filter { $0.hasPrefix("g4:\(id):") } == ["g4:\(id):1"], "job \(id) reached Slurm \(comments.filter { $0.contains(id) })")
        }
    }

    /// Two g4api replicas and a g4sync on one PostgreSQL store, all three
    /// submitting: 200 jobs posted to both at once each reach Slurm exactly once.
    @Test func replicasOnPostgreSQLSubmitEachJobOnce() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let fake = try Products.fakeSolver(in: Products.scratch("slurm-replicas-solver"))
        let database = try await PostgresTestServer.freshDatabaseURL()
        let jobs = cluster.jobsDirectory("replicas")
        var env = cluster.serviceEnvironment(jobs: jobs, g4sim: fake)
        env["DATABASE_URL"] = database
        env["SLURM_POLL_SECONDS"] = "1"
        let apis = (0..<2).map { ServerProcess(directory: Products.scratch("slurm-replica-\($0)"), environment: env.merging(["SYNC": "submit"]) { $1 }) }
        let token = try apis[0].token(user: "alice")
        for api in apis { try await api.start(client: client) }
        defer { for api in apis { api.kill(SIGTERM) } }
        let sync = ServiceProcess(Products.g4sync, name: "g4sync", directory: Products.scratch("slurm-replica-sync"), environment: env)
        try sync.launch()
        defer { sync.kill(SIGTERM) }

        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<200 {
                group.addTask {
                    try await apis[i % 2].submit(self.client, #"{"name": "replica \#(i)", "resources": {"memory_mb": 100}}"#, token: token)
                }
            }
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        #expect(Set(ids).count == 200)
        func completed(_ page: JSONValue) -> Int { items(page["jobs"]).filter { text($0["phase"]) == "completed" }.count }
        let last = try await Wait.whileProgressing("all 200 jobs to complete", {
            try await apis[1].json(client, "/api/v1/jobs?limit=1000", token: token)
        }, progress: completed, done: { completed($0) == 200 })
        #expect(items(last["jobs"]).allSatisfy { value($0["attempts"]) == 1 })
        let comments = try cluster.sacct("JobIDRaw,Comment").compactMap { $0.count > 1 && $0[1].hasPrefix("g4:") ? $0[1] : nil }
        let perJob = Dictionary(grouping: comments, by: { $0.split(separator: ":")[1] }).mapValues(\.count)
        for id in ids { #expect(perJob[Substring(id)] == 1, "job \(id) reached Slurm \(perJob[Substring(id)] ?? 0) times") }
        #expect(comments.count == Set(comments).count)
    }

    /// Killed by Slurm for using more memory than asked: resubmitted once
    /// with 1.5 times the memory per rank (recorded in the history), and
    /// failed when it happens again.
    @Test func outOfMemoryIsRetriedOnceWithMoreMemory() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let solverDir = Products.scratch("slurm-oom-solver")
        let solver = solverDir.appendingPathComponent("hog").path
        // Touches 400 MB and keeps it until killed (Slurm polls memory every 2 s).
        try """
            #!/bin/sh
            exec python3 -c "import time; b = b'x' * (400 << 20); time.sleep(300)"
            """.write(toFile: solver, atomically: true, encoding: .utf8)
        chmod(solver, 0o755)
        let (server, token, _) = try await server(cluster, "oom", g4sim: solver)
        defer { server.kill(SIGTERM) }
        let id = try await server.submit(client, #"{"name": "hog", "resources": {"memory_mb": 100}}"#, token: token)
        let job = try await server.waitForEnd(client, id, token: token)
        #expect(text(job["phase"]) == "failed" && (text(job["error_message"]) ?? "").contains("ran out of memory again with 150 MB"),
                "\(job)")
        let history = items(job["history"])
        #expect(history.map { text($0["ending"]) } == ["out_of_memory", "out_of_memory"], "\(history)")
        #expect(history.map { value($0["memory_mb"]) } == [100, 150])
        #expect((text(history.last?["why"]) ?? "").contains("ran out of memory with 100 MB per rank"))
        let script = String(decoding: try await server.request(client, .GET, "/api/v1/jobs/\(id)/script", token: token).1, as: UTF8.self)
        #expect(script.contains("#SBATCH --mem-per-cpu=150M"))
    }
}

extension SlurmClusterTests {
    /// Fallback with BACKENDS=slurm,kubernetes (Kubernetes: the stand-in API
    /// server). A job refused by Slurm because its partition is inactive goes
    /// to Kubernetes at once if its request left the backend to the service,
    /// and fails with Slurm's words if it asked for Slurm. With slurmctld
    /// stopped, `auto` jobs go to Kubernetes after FALLBACK_AFTER_SECONDS and
    /// run there, while a job that asked for Slurm stays queued and runs on
    /// Slurm once the controller is back; nothing reaches Slurm twice. Each
    /// job's history names the backend that ran it and why.
    @Test func autoJobsFallBackToKubernetes() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let kubernetes = try await FakeKubernetes.started()
        let solver = try Products.fakeSolver(in: Products.scratch("slurm-fallback-solver"))
        let jobs = cluster.jobsDirectory("fallback")
        let (server, token, _) = try await server(cluster, "fallback", g4sim: solver, environment: [
            "BACKENDS": "slurm,kubernetes", "FALLBACK_AFTER_SECONDS": "2",
            "KUBECONFIG": kubernetes.kubeconfig, "KUBERNETES_IMAGE": "registry.example.org/g4/g4sim:test", "KUBERNETES_PVC": "g4-jobs",
            "KUBERNETES_JOBS_DIR": jobs.path, "KUBERNETES_JOBS_MOUNT": jobs.path, "KUBERNETES_G4SIM": solver,
            "KUBERNETES_POLL_SECONDS": "0.3", "KUBERNETES_INSTANCE": "g4-fallback",
        ])
        defer { server.kill(SIGTERM) }
        func history(_ job: JSONValue) -> [(backend: String, why: String)] {
            items(job["history"]).map { (text($0["backend"]) ?? "?", text($0["why"]) ?? "?") }
        }

        // An inactive partition.
        try cluster.run("scontrol", ["update", "PartitionName=long", "State=INACTIVE"])
        var partitionBack = false
        defer { if !partitionBack { _ = try? cluster.run("scontrol", ["update", "PartitionName=long", "State=UP"]) } }
        let movable = try await server.submit(client, #"{"name": "inactive auto", "scheduler": {"partition": "long"}, "resources": {"memory_mb": 100}}"#, token: token)
        let pinned = try await server.submit(client, #"{"name": "inactive slurm", "backend": "slurm", "scheduler": {"partition": "long"}, "resources": {"memory_mb": 100}}"#, token: token)
        let moved = try await server.waitForEnd(client, movable, token: token)
        #expect(text(moved["phase"]) == "completed" && text(moved["backend"]) == "kubernetes", "\(moved)")
        #expect(history(moved).map(\.backend) == ["kubernetes"] && history(moved).first?.why.contains("Required partition not available") == true,
                "\(history(moved))")
        let failed = try await server.waitForEnd(client, pinned, token: token)
        #expect(text(failed["phase"]) == "failed" && text(failed["error_message"])?.contains("Required partition not available") == true, "\(failed)")
        try cluster.run("scontrol", ["update", "PartitionName=long", "State=UP"])
        partitionBack = true

        // The controller unreachable.
        try cluster.stopDaemon("slurmctld")
        var restarted = false
        defer { if !restarted { try? cluster.startDaemon("slurmctld") } }
        let auto = try await (0..<3).asyncMap { i in
            try await server.submit(self.client, #"{"name": "ctld down auto \#(i)", "resources": {"memory_mb": 100}}"#, token: token)
        }
        let slurmOnly = try await server.submit(client, #"{"name": "ctld down slurm", "backend": "slurm", "resources": {"memory_mb": 100}}"#, token: token)
        for id in auto {
            let job = try await server.waitForEnd(client, id, token: token)
            #expect(text(job["phase"]) == "completed" && text(job["backend"]) == "kubernetes", "\(job)")
            #expect(history(job).count == 1 && history(job).first?.why.contains("slurm has not taken jobs for 2 s: handed to kubernetes") == true,
                    "\(history(job))")
        }
        #expect(text(try await server.json(client, "/api/v1/jobs/\(slurmOnly)", token: token)["phase"]) == "queued")
        try cluster.startDaemon("slurmctld")
        restarted = true
        let ranOnSlurm = try await server.waitForEnd(client, slurmOnly, token: token)
        #expect(text(ranOnSlurm["phase"]) == "completed" && history(ranOnSlurm).map(\.backend) == ["slurm"], "\(ranOnSlurm)")
        // Accounting reaches slurmdbd asynchronously (slower after a controller restart).
        var comments: [String] = []
        try await Wait.until("sacct to list the Slurm job's comment") {
            comments = try cluster.sacct("JobIDRaw,Comment").map { $0.count > 1 ? $0[1] : "" }
            return comments.contains { $0.hasPrefix("g4:\(slurmOnly):") }
        }
        for id in auto + [movable] { #expect(!comments.contains { $0.hasPrefix("g4:\(id):") }, "\(id) reached Slurm") }
        #expect(comments.filter { $0.hasPrefix("g4:\(slurmOnly):") } == ["g4:\(slurmOnly):1"])
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
