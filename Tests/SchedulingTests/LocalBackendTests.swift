import Foundation
import Jobs
import Scheduling
import ServiceTestSupport
import Testing

/// The local backend against the real g4sim (tiny boxes, a few seconds each).
@Suite(.serialized) struct LocalBackendTests {
    func job(_ body: String) throws -> Job {
        Job(owner: "alice", spec: try JobRequest.validate(try JSONParser.parse(Array(body.utf8))))
    }

    /// Observes until `done` holds; `limit` only bounds a hang (see `Wait`).
    func wait(for backend: LocalBackend, _ job: Job, _ what: String, limit: Duration = .seconds(600),
              until done: (Observation) -> Bool) async throws -> Observation {
        var last = Observation.vanished(reason: "not observed yet")
        try await Wait.until("job \(job.id): \(what) (last seen: \(last))", limit: limit, every: .milliseconds(200)) {
            last = await backend.observe(job)
            return done(last)
        }
        return last
    }

    @Test func runsG4simToCompletion() async throws {
        let results = Products.scratch("local-run")
        let backend = LocalBackend(.init(resultsDirectory: results, g4sim: Products.g4sim, slots: 2))
        var job = try job(TestJobs.tinyBody)
        let submission = try await backend.submit(job, resume: false)
        job.backendData = submission.backendData
        #expect(submission.schedulerJobID.hasPrefix("local:"))
        let end = try await wait(for: backend, job, "the run's end") { if case .exited = $0 { return true }; return false }
        let dir = backend.workingDirectory(for: job)
        let log = (try? String(contentsOf: dir.appendingPathComponent("stdout.log"), encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
        #expect(end == .exited(code: 0), "stdout: \(log.suffix(1500)) stderr: \(err.suffix(1500))")
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("output/snapshot_000.hdf5").path))
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("output/powerspecs/powerspec_000.txt").path))
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("output/fof_tab_000.hdf5").path))
        let progress = try #require(SolverProgress.read(dir.appendingPathComponent("output/progress.json")))
        #expect(progress.state == "finished" && progress.fractionDone == 1)
        #expect(try String(contentsOf: dir.appendingPathComponent("param.txt"), encoding: .utf8).contains("NSample"))
        #expect(!backend.hasProcesses(job))
    }

    @Test func cancelStopsEveryProcessOfAnMPIRun() async throws {
        let results = Products.scratch("local-cancel")
        let backend = LocalBackend(.init(resultsDirectory: results, g4sim: Products.g4sim, slots: 2, gracePeriod: 5))
        // Long enough to still run when cancelled: 32³ to z = 0 on 2 ranks.
        var job = try job(#"{"name": "long", "num_particles": 32768, "resources": {"ranks": 2}, "parameters": {"PMGRID": 64}}"#)
        job.backendData = try await backend.submit(job, resume: false).backendData
        let progress = try await wait(for: backend, job, "progress above 0") {
            if case .running(let p?) = $0 { return p > 0 }
            return false
        }
        if case .running(let p) = progress { #expect((p ?? 0) > 0) }
        #expect(backend.hasProcesses(job))
        let record = try #require(job.backendData)
        await backend.cancel(job)
        #expect(!backend.hasProcesses(job), "processes left: \(record)")
        let end = await backend.observe(job)
        if case .running = end { Issue.record("still running after cancel") }
        // Nothing of the run is left on the machine.
        let ps = try PostgresTestServer.run("/bin/ps", ["-eo", "args"])
        #expect(!ps.contains(backend.workingDirectory(for: job).path))
    }

    @Test func reattachesAndSubmitIsIdempotentPerAttempt() async throws {
        let results = Products.scratch("local-reattach")
        // Held: the run ends only when the test releases it, so "still running
        // when the new backend looks" holds however slow the machine is.
        let fake = try Products.fakeSolver(in: results, held: true)
        let first = LocalBackend(.init(resultsDirectory: results, g4sim: fake, slots: 2))
        var job = try job(#"{"name": "reattach"}"#)
        let directory = first.workingDirectory(for: job)
        let a = try await first.submit(job, resume: false)
        // The same attempt again (as after a crash before it was recorded): the same run.
        let b = try await first.submit(job, resume: false)
        #expect(a == b)
        job.backendData = a.backendData
        try await Wait.until("the fake solver to start") { Products.fakeStarted(in: directory) }
        // A new backend (as after a g4api restart) sees it running, then how it ended.
        let second = LocalBackend(.init(resultsDirectory: results, g4sim: fake, slots: 2))
        let seen = await second.observe(job)
        if case .running = seen {} else { Issue.record("not running after re-attach: \(seen)") }
        #expect(second.slotsInUse == 1)
        Products.release(directory)
        let end = try await wait(for: second, job, "the run's end") { if case .exited = $0 { return true }; return false }
        #expect(end == .exited(code: 0))
        _ = await first.observe(job)  // reap
        let runs = try String(contentsOf: directory.appendingPathComponent("stdout.log"), encoding: .utf8)
        #expect(runs.components(separatedBy: "fake g4sim done").count == 2)  // ran once
    }

    @Test func refusesJobsLargerThanTheMachine() throws {
        let backend = LocalBackend(.init(resultsDirectory: Products.scratch("refuse"), g4sim: "/bin/false", slots: 2))
        #expect(backend.refusal(for: try job(#"{"name": "big", "resources": {"ranks": 4, "nodes": 2}}"#))?.field == "resources.nodes")
        #expect(backend.refusal(for: try job(#"{"name": "big", "resources": {"ranks": 3}}"#))?.field == "resources.ranks")
        #expect(backend.refusal(for: try job(#"{"name": "ok", "resources": {"ranks": 2}}"#)) == nil)
    }
}
