import AsyncHTTPClient
import Foundation
import Jobs
import ServiceTestSupport
import Testing

/// The Slurm backend and the sync loops against a real one-node Slurm
/// cluster (slurm/cluster): jobs through g4api to `completed` with their
/// accounting, cancel, injection attempts, a killed g4sync, an unreachable
/// controller, replicas racing to submit, association checks and
/// out-of-memory resubmission. Serialised: they share the cluster's 4 slots.
@Suite(.serialized) struct SlurmClusterTests {
    let client = HTTPClient.shared

    /// A g4api on SQLite (unless `environment` says otherwise) with the Slurm backend and the sync loops in-process.
    func server(_ cluster: SlurmTestCluster, _ label: String, g4sim: String = Products.g4sim,
                environment: [String: String] = [:]) async throws -> (ServerProcess, String, URL) {
        let dir = Products.scratch("slurm-\(label)")
        let jobs = cluster.jobsDirectory(label)
        var env = cluster.serviceEnvironment(jobs: jobs, g4sim: g4sim)
        for (k, v) in environment { env[k] = v }
        let server = ServerProcess(directory: dir, environment: env)
        let token = try server.token(user: "alice")
        try await server.start(client: client)
        return (server, token, jobs)
    }

    /// 16³ particles on 2 ranks from z = 63 to a = 0.5: long enough to be seen running for seconds.
    static let box = #""num_particles": 4096, "box_size": 50, "time_max": 0.5, "output_times": [0.25, 0.5], "parameters": {"PMGRID": 32, "MaxSizeTimestep": 0.05, "ErrTolIntAccuracy": 0.1}"#

    /// A job runs on 2 ranks under Slurm to `completed`; while it runs its
    /// progress and log lines come through the API; its accounting (the
    /// allocation and every step) reaches the store at the next watch pass
    /// after sacct shows it.
    @Test func jobRunsToCompletionWithAccountingLogsAndProgress() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let (server, token, jobs) = try await server(cluster, "complete")
        defer { server.kill(SIGTERM) }
        let id = try await server.submit(client, #"{"name": "slurm box", "backend": "slurm", "resources": {"ranks": 2}, \#(Self.box)}"#,
                                         token: token)
        // While it runs: progress and logs through the API.
        var sawProgress = false, sawLogs = false, phase = ""
        try await Wait.until("the job to end (phase \(phase))", every: .milliseconds(200)) {
            let status = try await server.json(client, "/api/v1/simulations/\(id)/status", token: token)
            phase = text(status["phase"]) ?? ""
            if phase == "running" {
                if (value(status["progress"]) ?? 0) > 0 && value(status["redshift"]) != nil { sawProgress = true }
                let logs = try await server.json(client, "/api/v1/simulations/\(id)/logs?tail=5", token: token)
                if !items(logs["lines"]).isEmpty { sawLogs = true }
            }
            return JobState(rawValue: phase)?.isTerminal == true
        }
        let job = try await server.json(client, "/api/v1/jobs/\(id)", token: token)
        #expect(phase == "completed", "\(job) \(server.logText.suffix(3000))")
        #expect(sawProgress && sawLogs, "progress seen while running: \(sawProgress), logs: \(sawLogs)")
        let slurmID = try #require(text(job["scheduler_job_id"]))
        #expect(text(job["backend"]) == "slurm")

        // Accounting: from the moment sacct shows the final rows, the store has them by the next full pass.
        var passesAtSacct = 0.0
        try await Wait.until("sacct to show job \(slurmID) ended", every: .milliseconds(100)) {
            let rows = try cluster.sacct("JobIDRaw,State,End", allocationsOnly: false).filter { $0.first?.hasPrefix(slurmID) == true }
            passesAtSacct = try await server.metric(client, #"g4_sync_watch_passes{backend="slurm"}"#) ?? 0
            return rows.count >= 3 && rows.allSatisfy { $0.count == 3 && $0[1] == "COMPLETED" && $0[2] != "Unknown" }
        }
        let sacctSeen = ContinuousClock.now
        var history: [JobValueRow] = []
        try await Wait.until("the store to hold the accounting", every: .milliseconds(100)) {
            let attempts = items(try await server.json(client, "/api/v1/jobs/\(id)", token: token)["history"])
            history = items(attempts.first?["accounting"]).map(JobValueRow.init)
            return history.count >= 3 && history.allSatisfy { $0.state == "COMPLETED" }
        }
        let passes = (try await server.metric(client, #"g4_sync_watch_passes{backend="slurm"}"#) ?? 0) - passesAtSacct
        print("accounting: in the store \(ContinuousClock.now - sacctSeen) and \(Int(passes)) watch passes after sacct showed it")
        #expect(passes <= 2, "the store had the accounting only \(passes) passes after sacct")
        let steps = Set(history.map(\.step))
        #expect(steps.isSuperset(of: ["", "batch", "0"]), "\(steps)")
        let allocation = try #require(history.first { $0.step == "" })
        #expect(allocation.nodeList == "n1" && (allocation.elapsed ?? -1) >= 0 && allocation.start != nil && allocation.end != nil)
        #expect(history.contains { $0.step == "0" && ($0.maxRSSKB ?? 0) > 0 && ($0.totalCPU ?? 0) > 0 }, "\(history)")
        // The script as submitted is served, and the job's files are in its directory on the cluster's filesystem.
        let (scriptStatus, script, _) = try await server.request(client, .GET, "/api/v1/jobs/\(id)/script", token: token)
        #expect(scriptStatus == 200 && String(decoding: script, as: UTF8.self).contains("#SBATCH --comment=g4:\(id):1"))
        #expect(FileManager.default.fileExists(atPath: jobs.appendingPathComponent("\(id)/output/snapshot_001.hdf5").path))
        let logs = try await server.json(client, "/api/v1/simulations/\(id)/logs?tail=20", token: token)
        #expect(items(logs["lines"]).contains { text($0)?.contains("g4sim: done") == true })
    }

    /// DELETE of a running Slurm job: scancel, `cancelled`, and no g4sim left.
    @Test func cancelStopsARunningSlurmJob() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let (server, token, jobs) = try await server(cluster, "cancel")
        defer { server.kill(SIGTERM) }
        // 32³ to z = 0 runs for minutes: it is running when cancelled.
        let id = try await server.submit(client, #"{"name": "to cancel", "backend": "slurm", "num_particles": 32768, "resources": {"ranks": 2}, "parameters": {"PMGRID": 64}}"#,
                                         token: token)
        try await Wait.until("the job to run with progress", every: .milliseconds(200)) {
            let s = try await server.json(client, "/api/v1/simulations/\(id)/status", token: token)
            return text(s["phase"]) == "running" && (value(s["progress"]) ?? 0) > 0
        }
        let directory = jobs.appendingPathComponent(id).path
        #expect(!processesMentioning(directory).isEmpty || processesIn(directory) > 0)
        let (status, _, _) = try await server.request(client, .DELETE, "/api/v1/jobs/\(id)", token: token)
        #expect(status == 202)
        let job = try await server.waitForEnd(client, id, token: token)
        #expect(text(job["phase"]) == "cancelled", "\(job)")
        let slurmID = try #require(text(job["scheduler_job_id"]))
        try await Wait.until("Slurm to finish the job") {
            try cluster.run("squeue", ["--noheader", "--jobs=\(slurmID)", "--states=PENDING,RUNNING,COMPLETING,SUSPENDED"]).isEmpty
        }
        // srun and every rank run in the job's directory; the nodes' processes are all this machine's.
        try await Wait.until("the job's processes to be gone") { processesIn(directory) == 0 }
        let state = try cluster.sacct("JobIDRaw,State").first { $0.first == slurmID }
        #expect(state?[1].hasPrefix("CANCELLED") == true, "\(state ?? [])")
    }
}

/// One accounting row of a job's history, from its JSON.
struct JobValueRow {
    let step: String, state: String
    let elapsed: Double?, totalCPU: Double?, maxRSSKB: Double?
    let nodeList: String?, start: String?, end: String?
    init(_ v: JSONValue) {
        step = text(v["step"]) ?? "?"
        state = text(v["state"]) ?? "?"
        elapsed = value(v["elapsed_seconds"])
        totalCPU = value(v["total_cpu_seconds"])
        maxRSSKB = value(v["max_rss_kb"])
        nodeList = text(v["node_list"])
        start = text(v["start"])
        end = text(v["end"])
    }
}
