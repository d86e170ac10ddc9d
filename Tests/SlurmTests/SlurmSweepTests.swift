import AsyncHTTPClient
import Foundation
import Jobs
import ServiceTestSupport
import Testing

extension SlurmClusterTests {
    /// A sweep with the Slurm backend: one Slurm job per point (not yet one
    /// job array), each with its own batch script and its own value of the
    /// varied parameter, all run to `completed` and counted by the sweep.
    /// In this serialised suite, so it shares the cluster's slots with no one.
    @Test func sweepRunsOneSlurmJobPerPoint() async throws {
        let cluster = try await SlurmTestCluster.oneNode()
        let (server, token, _) = try await server(cluster, "sweep")
        defer { server.kill(SIGTERM) }
        // 8³ particles on one rank for a few steps: the sweep's plumbing, not the physics.
        let body = #"""
            {"name": "slurm sweep", "vary": {"Seed": [101, 202]},
             "base": {"backend": "slurm", "num_particles": 512, "box_size": 50, "time_max": 0.03, "output_times": [0.03],
                      "parameters": {"PMGRID": 32, "MaxSizeTimestep": 0.05, "ErrTolIntAccuracy": 0.1}}}
            """#
        let (status, bytes, _) = try await server.request(client, .POST, "/api/v1/sweeps", token: token, body: body)
        #expect(status == 201, "\(String(decoding: bytes, as: UTF8.self))")
        let sweepID = try #require(text(try JSONParser.parse(bytes)["id"]))
        var sweep = JSONValue.null
        try await Wait.until("the sweep's jobs to end (\(sweep["counts"].map { "\($0)" } ?? "?"))", every: .milliseconds(250)) {
            sweep = try await server.json(client, "/api/v1/sweeps/\(sweepID)", token: token)
            return text(sweep["state"]) == "ended"
        }
        let jobs = items(sweep["jobs"])
        #expect(jobs.count == 2 && value(sweep["counts"]?["completed"]) == 2, "\(sweep) \(server.logText.suffix(3000))")
        var slurmIDs: Set<String> = [], seeds: Set<String> = []
        for job in jobs {
            let id = try #require(text(job["id"]))
            #expect(text(job["backend"]) == "slurm" && text(job["sweep_id"]) == sweepID)
            if let s = text(job["scheduler_job_id"]) { slurmIDs.insert(s) }
            let (scriptStatus, script, _) = try await server.request(client, .GET, "/api/v1/jobs/\(id)/script", token: token)
            #expect(scriptStatus == 200 && String(decoding: script, as: UTF8.self).contains("#SBATCH"))
            let (_, file, _) = try await server.request(client, .GET, "/api/v1/jobs/\(id)/parameter-file", token: token)
            let seedLine = String(decoding: file, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("Seed ") }
            seeds.insert(seedLine.map { $0.split(separator: " ").last.map(String.init) ?? "" } ?? "")
        }
        #expect(slurmIDs.count == 2, "one Slurm job per point: \(slurmIDs)")
        #expect(seeds == ["101", "202"], "\(seeds)")
    }
}
