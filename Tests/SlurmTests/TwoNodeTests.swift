import AsyncHTTPClient
import Foundation
import Jobs
import Scheduling
import ServiceTestSupport
import TestSupport
import Testing

/// On a two-node Slurm cluster (each slurmd in its own network namespace):
/// three jobs with the same physics — on one node, spread over both, and one
/// stopped by a signal and a too-short wall-clock limit, then resumed by
/// g4sync — must end with identical z = 0 particles (g4sim gives the same
/// bits on any layout of its ranks, and resuming changes nothing).
@Suite(.serialized) struct TwoNodeTests {
    let client = HTTPClient.shared

    /// 16³ on 2 ranks from z = 63 to z = 0 (20-40 s of solver time; coarse steps: this is about scheduling, not physics).
    static let physics = #""num_particles": 4096, "box_size": 50, "time_max": 1.0, "output_times": [1.0], "parameters": {"PMGRID": 32, "MaxSizeTimestep": 0.05, "ErrTolIntAccuracy": 0.1}"#

    @Test func ranksSpanNodesAndInterruptedRunsResumeToTheSameParticles() async throws {
        let cluster = try await SlurmTestCluster.twoNodes()
        let dir = Products.scratch("slurm-two-nodes")
        let jobs = cluster.jobsDirectory("two-nodes")
        var env = cluster.serviceEnvironment(jobs: jobs)
        // The limited job needs a few attempts: allow more than the default.
        env["MAX_ATTEMPTS"] = "20"
        let server = ServerProcess(directory: dir, environment: env)
        let token = try server.token(user: "alice")
        try await server.start(client: client)
        defer { server.kill(SIGTERM) }

        let reference = try await server.submit(client, #"{"name": "one node", "resources": {"ranks": 2, "nodes": 1}, \#(Self.physics)}"#, token: token)
        let spread = try await server.submit(client, #"{"name": "two nodes", "resources": {"ranks": 2, "nodes": 2}, \#(Self.physics)}"#, token: token)
        let limited = try await server.submit(client, #"{"name": "short limit", "resources": {"ranks": 2, "nodes": 1, "wall_clock_limit": 60}, \#(Self.physics)}"#, token: token)

        // The limited job's first attempt gets the stop signal as Slurm's
        // --signal=B:USR1 delivers it (to the batch shell) once it has made progress;
        // its later attempts stop at 85 % of their 60 s (g4sim's TimeLimitCPU).
        let limitedDir = RunDirectory(jobs.appendingPathComponent(limited))
        try await Wait.until("the limited job to make progress") { (limitedDir.progress?.fractionDone ?? 0) > 0 }
        let firstSlurmID = try #require(text(try await server.json(client, "/api/v1/jobs/\(limited)", token: token)["scheduler_job_id"]))
        try cluster.run("scancel", ["--signal=USR1", "--batch", firstSlurmID])

        var ended: [String: JSONValue] = [:]
        for id in [reference, spread, limited] { ended[id] = try await server.waitForEnd(client, id, token: token, every: .seconds(1)) }
        for (id, job) in ended { #expect(text(job["phase"]) == "completed", "\(id): \(job)") }

        // Spread over both nodes: Slurm's accounting and g4sim's own log say so.
        let spreadHistory = items(ended[spread]?["history"])
        let allocation = items(spreadHistory.first?["accounting"]).first { text($0["step"]) == "" }
        #expect(text(allocation?["node_list"]) == "n[1-2]", "\(spreadHistory)")
        let spreadLog = try String(contentsOf: jobs.appendingPathComponent("\(spread)/stdout.log"), encoding: .utf8)
        #expect(spreadLog.contains("2 ranks on 2 host(s): n1, n2") || spreadLog.contains("2 ranks on 2 host(s): n2, n1"), "\(spreadLog.prefix(2000))")
        let referenceLog = try String(contentsOf: jobs.appendingPathComponent("\(reference)/stdout.log"), encoding: .utf8)
        #expect(referenceLog.contains("2 ranks on 1 host(s)"))

        // The limited job: stopped by the signal with restart files, resubmitted, resumed, finished.
        let history = items(ended[limited]?["history"])
        #expect(history.count >= 2, "\(history)")
        #expect(text(history.first?["ending"]) == "resume_me", "\(history)")
        #expect(history.dropFirst().allSatisfy { $0["resumed"] == .bool(true) })
        #expect(Set(history.compactMap { text($0["scheduler_job_id"]) }).count == history.count)
        let limitedLog = try String(contentsOf: jobs.appendingPathComponent("\(limited)/stdout.log"), encoding: .utf8)
        #expect(limitedLog.contains("(signal SIGUSR1); restart files written"), "\(limitedLog.suffix(3000))")
        #expect(limitedLog.contains("g4sim: resumed at step"))
        print("limited job: \(history.count) attempts: " + history.map { "\(text($0["ending"]) ?? "?") (\(text($0["reason"]) ?? ""))" }.joined(separator: "; "))

        // The same particles, bit for bit.
        let ours = jobs.appendingPathComponent("\(reference)/output/snapshot_000.hdf5").path
        for other in [spread, limited] {
            let theirs = jobs.appendingPathComponent("\(other)/output/snapshot_000.hdf5").path
            for dataset in ["/PartType1/Coordinates", "/PartType1/Velocities", "/PartType1/ParticleIDs"] {
                let diff = try ProcessRunner.run("/usr/bin/h5diff", ["-q", ours, theirs, dataset])
                #expect(diff.succeeded, "\(other) \(dataset) differs: \(diff.combined)")
            }
        }
    }

    /// A node of a running job goes down (`scontrol update State=DOWN`, as an
    /// operator or a failed health check does): Slurm ends the job NODE_FAIL,
    /// g4sync resubmits it without counting the attempt against the job, and
    /// the new attempt runs on the other node to `completed`.
    @Test func aJobWhoseNodeFailsIsResubmittedElsewhere() async throws {
        let cluster = try await SlurmTestCluster.twoNodes()
        let solver = try Products.fakeSolver(in: Products.scratch("slurm-node-fail-solver"), held: true)
        let jobs = cluster.jobsDirectory("node-fail")
        let server = ServerProcess(directory: Products.scratch("slurm-node-fail"), environment: cluster.serviceEnvironment(jobs: jobs, g4sim: solver))
        let token = try server.token(user: "alice")
        try await server.start(client: client)
        defer { server.kill(SIGTERM) }
        let id = try await server.submit(client, #"{"name": "node fails", "backend": "slurm", "resources": {"memory_mb": 100}}"#, token: token)
        let directory = jobs.appendingPathComponent(id)
        try await Wait.until("the first attempt to start") { Products.fakeStarted(in: directory) }
        let first = try #require(text(try await server.json(client, "/api/v1/jobs/\(id)", token: token)["scheduler_job_id"]))
        let node = try cluster.run("squeue", ["--noheader", "--jobs=\(first)", "--format=%N"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(node == "n1" || node == "n2", "job \(first) on \(node)")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("fake-started"))
        try cluster.run("scontrol", ["update", "NodeName=\(node)", "State=DOWN", "Reason=g4-test"])
        // Kept out of service: with ReturnToService its slurmd would bring it back at once.
        try cluster.run("scontrol", ["update", "NodeName=\(node)", "State=DRAIN", "Reason=g4-test"])
        defer { _ = try? cluster.run("scontrol", ["update", "NodeName=\(node)", "State=RESUME"]) }

        try await Wait.until("a second attempt to start") { Products.fakeStarted(in: directory) }
        Products.release(directory)
        let job = try await server.waitForEnd(client, id, token: token)
        let history = items(job["history"])
        #expect(text(job["phase"]) == "completed", "\(job)")
        #expect(history.count == 2 && text(history.first?["ending"]) == "node_failure", "\(history)")
        #expect(history.first?["counts_against_limit"] == .bool(false), "\(history)")
        let second = try #require(text(history.last?["scheduler_job_id"]))
        // Accounting rows reach slurmdbd asynchronously.
        var rows: [[String]] = []
        try await Wait.until("sacct to list both attempts") {
            rows = try cluster.sacct("JobIDRaw,State,NodeList")
            return rows.contains { $0.first == first } && rows.contains { $0.first == second && $0[1] == "COMPLETED" }
        }
        let ranOn = rows.first { $0.first == second }?.last
        #expect(ranOn != nil && ranOn != node, "attempt 2 ran on \(ranOn ?? "?"), the failed node was \(node)")
        let firstState = rows.first { $0.first == first }?[1]
        #expect(firstState == "NODE_FAIL", "Slurm recorded attempt 1 as \(firstState ?? "?")")
    }

    /// Slurm's own time limit, on a solver that ignores the warning signal
    /// and SIGTERM (only SIGKILL ends it): Slurm ends both jobs TIMEOUT. The
    /// one that has restart files is resubmitted with `--restart` and
    /// completes; the one without ends `timed_out`, saying why.
    @Test func slurmsTimeLimitResumesOrTimesOut() async throws {
        let cluster = try await SlurmTestCluster.twoNodes()
        let solver = try Products.fakeSolver(in: Products.scratch("slurm-timeout-solver"), held: true, ignoringSIGTERM: true)
        let jobs = cluster.jobsDirectory("timeout")
        let server = ServerProcess(directory: Products.scratch("slurm-timeout"), environment: cluster.serviceEnvironment(jobs: jobs, g4sim: solver))
        let token = try server.token(user: "alice")
        try await server.start(client: client)
        defer { server.kill(SIGTERM) }
        let body = #"{"name": "overrun", "backend": "slurm", "resources": {"memory_mb": 100, "wall_clock_limit": 60}}"#
        let resumable = try await server.submit(client, body, token: token)
        let lost = try await server.submit(client, body, token: token)
        let directory = jobs.appendingPathComponent(resumable)
        for id in [resumable, lost] {
            try await Wait.until("job \(id) to start") { Products.fakeStarted(in: jobs.appendingPathComponent(id)) }
        }
        try FileManager.default.removeItem(at: directory.appendingPathComponent("fake-started"))
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("output/restartfiles"), withIntermediateDirectories: true)
        try "restart".write(to: directory.appendingPathComponent("output/restartfiles/restart.0"), atomically: true, encoding: .utf8)

        let timedOut = try await server.waitForEnd(client, lost, token: token)
        #expect(text(timedOut["phase"]) == "timed_out", "\(timedOut)")
        #expect(text(items(timedOut["history"]).first?["ending"]) == "time_limit", "\(timedOut)")
        #expect(text(timedOut["error_message"])?.isEmpty == false, "\(timedOut)")
        try await Wait.until("the resumable job's second attempt to start") { Products.fakeStarted(in: directory) }
        Products.release(directory)
        let resumed = try await server.waitForEnd(client, resumable, token: token)
        let history = items(resumed["history"])
        #expect(text(resumed["phase"]) == "completed", "\(resumed)")
        #expect(history.count == 2 && text(history.first?["ending"]) == "time_limit" && history.last?["resumed"] == .bool(true), "\(history)")
        let overrun = [items(timedOut["history"]).first, history.first].map { text($0?["scheduler_job_id"]) ?? "?" }
        var states: [[String]] = []
        try await Wait.until("sacct to list both overrun attempts") {
            states = try cluster.sacct("JobIDRaw,State")
            return overrun.allSatisfy { id in states.contains { $0.first == id } }
        }
        for slurmID in overrun {
            #expect(states.first { $0.first == slurmID }?.last == "TIMEOUT", "Slurm job \(slurmID): \(states.first { $0.first == slurmID } ?? [])")
        }
    }
}
