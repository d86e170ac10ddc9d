import AsyncHTTPClient
import Foundation
import Jobs
import ServiceTestSupport
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
        let limitedDir = RunDirectoryPath(jobs.appendingPathComponent(limited))
        try await Wait.until("the limited job to make progress") { limitedDir.fraction > 0 }
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
                let diff = try ProcessOutcome.run("/usr/bin/h5diff", ["-q", ours, theirs, dataset])
                #expect(diff.status == 0, "\(other) \(dataset) differs: \(diff.output)")
            }
        }
    }
}

/// The solver's progress in a job directory.
struct RunDirectoryPath {
    let url: URL
    init(_ url: URL) { self.url = url }
    var fraction: Double {
        guard let data = FileManager.default.contents(atPath: url.appendingPathComponent("output/progress.json").path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return 0 }
        return object["fraction_done"] as? Double ?? 0
    }
}

enum ProcessOutcome {
    static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
