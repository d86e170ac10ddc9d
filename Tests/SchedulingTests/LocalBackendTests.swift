import Foundation
import Jobs
import RunContract
import Scheduling
import ServiceTestSupport
import Testing

/// The local backend against the real g4sim (tiny boxes, a few seconds each)
/// and against held stand-in solvers where the test must control when a run ends.
@Suite(.serialized) struct LocalBackendTests {
    func job(_ body: String) throws -> Job {
        Job(owner: "alice", spec: try JobRequest.validate(try JSONParser.parse(Array(body.utf8))), backend: .local)
    }

    func plan(_ job: Job, resume: Bool = false) -> AttemptPlan {
        AttemptPlan(number: job.attempts + 1, resume: resume, memoryMB: job.resources.memoryMB)
    }

    func status(_ backend: LocalBackend, _ job: Job) async -> RunStatus {
        await backend.observe([job])[job.id] ?? .unknown(reason: "missing from the answer")
    }

    /// Observes until the run ended; `limit` only bounds a hang (see `Wait`).
    func ending(_ backend: LocalBackend, _ job: Job, whileWaiting: (() async -> Void)? = nil) async throws -> RunEnding {
        var last = RunStatus.unknown(reason: "not observed yet")
        try await Wait.until("job \(job.id) to end (last seen: \(last))", every: .milliseconds(200)) {
            await whileWaiting?()
            last = await status(backend, job)
            if case .ended = last { return true }
            return false
        }
        guard case .ended(let e) = last else { throw TestSetupError("not ended") }
        return e
    }

    @Test func runsG4simToCompletion() async throws {
        let results = Products.scratch("local-run")
        let backend = LocalBackend(.init(resultsDirectory: results, g4sim: Products.g4sim, slots: 2))
        var job = try job(TestJobs.tinyBody)
        let submission = try await backend.submit(job, plan: plan(job))
        job.backendData = submission.backendData
        #expect(submission.schedulerJobID.hasPrefix("local:"))
        let end = try await ending(backend, job)
        let dir = backend.directory(for: job)
        let log = (try? String(contentsOf: dir.appendingPathComponent(RunLayout.stdout), encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: dir.appendingPathComponent(RunLayout.stderr), encoding: .utf8)) ?? ""
        #expect(end == RunEnding(.completed, exitCode: 0, detail: "exit status 0"), "stdout: \(log.suffix(1500)) stderr: \(err.suffix(1500))")
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("output/snapshot_000.hdf5").path))
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("output/powerspecs/powerspec_000.txt").path))
        #expect(fm.fileExists(atPath: dir.appendingPathComponent("output/fof_tab_000.hdf5").path))
        let progress = try #require(RunDirectory(dir).progress)
        #expect(progress.state == "finished" && progress.fractionDone == 1)
        #expect((progress.peakMemoryMB ?? 0) > 1, "g4sim reports its peak memory: \(progress)")
        #expect(try String(contentsOf: dir.appendingPathComponent("param.txt"), encoding: .utf8).contains("NSample"))
        #expect(!backend.hasProcesses(job))
    }

    /// Cancel as the sync loop does it: called on every pass until the run
    /// ended. g4sim answers the first signal (SIGUSR1, which mpirun forwards)
    /// by writing restart files and exiting 75; nothing of the 2-rank run is left afterwards.
    @Test func cancelStopsEveryProcessOfAnMPIRun() async throws {
        let results = Products.scratch("local-cancel")
        let backend = LocalBackend(.init(resultsDirectory: results, g4sim: Products.g4sim, slots: 2, gracePeriod: 60))
        // 32³ to z = 0 on 2 ranks runs for minutes: it is still running when cancelled.
        var job = try job(#"{"name": "long", "num_particles": 32768, "resources": {"ranks": 2}, "parameters": {"PMGRID": 64}}"#)
        job.backendData = try await backend.submit(job, plan: plan(job)).backendData
        let directory = RunDirectory(backend.directory(for: job))
        try await Wait.until("the run to report progress") { (directory.progress?.fractionDone ?? 0) > 0 }
        #expect(await status(backend, job) == .running)
        #expect(backend.hasProcesses(job))
        let end = try await ending(backend, job) { await backend.cancel(job) }
        #expect(end.kind == .resumeMe, "g4sim stops on SIGUSR1 with restart files: \(end)")
        #expect(directory.hasRestartFiles)
        #expect(!backend.hasProcesses(job))
        let ps = try PostgresTestServer.run("/bin/ps", ["-eo", "args"])
        #expect(!ps.contains(backend.directory(for: job).path))
    }

    /// A run that ignores the polite signal is killed once the grace period has passed.
    @Test func cancelEscalatesToSIGKILLAfterTheGracePeriod() async throws {
        let results = Products.scratch("local-stubborn")
        let fake = try Products.fakeSolver(in: results, held: true, ignoringSIGTERM: true)
        let backend = LocalBackend(.init(resultsDirectory: results, g4sim: fake, slots: 2, gracePeriod: 1))
        var job = try job(#"{"name": "stubborn"}"#)
        job.backendData = try await backend.submit(job, plan: plan(job)).backendData
        try await Wait.until("the fake solver to start") { Products.fakeStarted(in: backend.directory(for: job)) }
        await backend.cancel(job)  // SIGUSR1: ignored
        #expect(await status(backend, job) == .running)
        let end = try await ending(backend, job) { await backend.cancel(job) }
        #expect(end.kind == .failed && end.detail == "killed by signal 9", "\(end)")
        #expect(!backend.hasProcesses(job))
    }

    @Test func reattachesAndSubmitIsIdempotentPerAttempt() async throws {
        let results = Products.scratch("local-reattach")
        // Held: the run ends only when the test releases it, so "still running
        // when the new backend looks" holds however slow the machine is.
        let fake = try Products.fakeSolver(in: results, held: true)
        let first = LocalBackend(.init(resultsDirectory: results, g4sim: fake, slots: 2))
        var job = try job(#"{"name": "reattach"}"#)
        let directory = first.directory(for: job)
        let a = try await first.submit(job, plan: plan(job))
        // The same attempt again (as after a crash before it was recorded): the same run.
        let b = try await first.submit(job, plan: plan(job))
        #expect(a == b)
        job.backendData = a.backendData
        try await Wait.until("the fake solver to start") { Products.fakeStarted(in: directory) }
        // A new backend (as after a g4api restart) sees it running, then how it ended.
        let second = LocalBackend(.init(resultsDirectory: results, g4sim: fake, slots: 2))
        let seen = await status(second, job)
        if case .running = seen {} else { Issue.record("not running after re-attach: \(seen)") }
        #expect(second.slotsInUse == 1)
        Products.release(directory)
        #expect(try await ending(second, job).kind == .completed)
        _ = await status(first, job)  // reap
        let runs = try String(contentsOf: directory.appendingPathComponent("stdout.log"), encoding: .utf8)
        #expect(runs.components(separatedBy: "fake g4sim done").count == 2)  // ran once
    }

    @Test func refusesJobsLargerThanTheMachine() async throws {
        let backend = LocalBackend(.init(resultsDirectory: Products.scratch("refuse"), g4sim: "/bin/false", slots: 2))
        #expect(await backend.refusal(for: try job(#"{"name": "big", "resources": {"ranks": 4, "nodes": 2}}"#))?.field == "resources.nodes")
        #expect(await backend.refusal(for: try job(#"{"name": "big", "resources": {"ranks": 3}}"#))?.field == "resources.ranks")
        #expect(await backend.refusal(for: try job(#"{"name": "ok", "resources": {"ranks": 2}}"#)) == nil)
    }

    /// An attempt with more memory (an out-of-memory resubmission) runs with
    /// g4sim's MaxMemSize raised to match.
    @Test func attemptMemoryReachesTheParameterFile() async throws {
        let results = Products.scratch("local-memory")
        let fake = try Products.fakeSolver(in: results)
        let backend = LocalBackend(.init(resultsDirectory: results, g4sim: fake, slots: 2))
        var job = try job(#"{"name": "mem", "resources": {"memory_mb": 500}}"#)
        job.backendData = try await backend.submit(job, plan: AttemptPlan(number: 1, resume: false, memoryMB: 750)).backendData
        _ = try await ending(backend, job)
        let text = try String(contentsOf: backend.directory(for: job).appendingPathComponent("param.txt"), encoding: .utf8)
        let line = text.split(separator: "\n").first { $0.hasPrefix("MaxMemSize") }
        #expect(line?.split(separator: " ").last == "750", "\(line ?? "no MaxMemSize line")")
    }
}
