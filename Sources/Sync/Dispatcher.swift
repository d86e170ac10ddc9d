import Foundation
import JobStore
import Jobs
import Logging
import Scheduling

/// The loop inside g4api that moves jobs along: hands queued jobs to their
/// backend (the store's `queued` rows are the outbox: the API only inserts),
/// watches submitted and running ones, and records how they end.
///
/// Crash safety: a job is marked `submitted` only after the backend started
/// it, and the backend's submit is idempotent per attempt, so a g4api that
/// dies between the two neither loses the job (still queued) nor runs it
/// twice (the next submit finds the run already started).
public actor Dispatcher {
    let store: any JobRepository
    let backends: [BackendKind: any Backend]
    let logger: Logger
    let interval: Duration
    private nonisolated let wakeups: AsyncStream<Void>.Continuation
    private var stream: AsyncStream<Void>?
    /// Jobs whose cancel is in progress (signals sent, waiting for exit).
    private var cancelling: Set<String> = []
    private var lastProgress: [String: Double] = [:]

    public init(store: any JobRepository, backends: [any Backend], interval: Duration = .milliseconds(500),
                logger: Logger = Logger(label: "g4.dispatcher")) {
        self.store = store
        var map: [BackendKind: any Backend] = [:]
        for b in backends { map[b.kind] = b }
        self.backends = map
        self.interval = interval
        self.logger = logger
        let (s, c) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        stream = s
        wakeups = c
    }

    /// Asks for a pass now (after an insert or a cancel request).
    public nonisolated func wake() {
        wakeups.yield()
    }

    /// Runs until cancelled. The first pass re-attaches to runs that outlived
    /// an earlier g4api (or records how they ended) before starting new ones.
    public func run() async {
        guard let stream else { return }
        self.stream = nil
        let tick = Task { [interval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                self.wake()
            }
        }
        defer { tick.cancel() }
        await pass()
        for await _ in stream {
            if Task.isCancelled { break }
            await pass()
        }
    }

    /// One round: watch running jobs, then start queued ones.
    public func pass() async {
        do {
            try await watch()
            try await dispatch()
        } catch {
            logger.error("dispatcher pass failed", metadata: ["error": "\(error)"])
        }
    }

    func watch() async throws {
        for job in try await store.jobs(in: [.submitted, .running], limit: 10_000) {
            guard let backend = backends[job.backend] else { continue }
            if job.cancelRequested {
                // The cancel task records the end once no process of the run is left.
                if !cancelling.contains(job.id) {
                    cancelling.insert(job.id)
                    let snapshot = job
                    Task {
                        await backend.cancel(snapshot)
                        await self.cancelled(snapshot, backend: backend)
                    }
                }
                continue
            }
            switch await backend.observe(job) {
            case .running(let progress):
                if job.state == .submitted { _ = try await store.apply(.start, to: job.id, changes: JobChanges()) }
                if let progress, lastProgress[job.id] != progress, progress > job.progress {
                    lastProgress[job.id] = progress
                    try await store.update(job.id, changes: JobChanges(progress: progress))
                }
            case .exited(let code):
                try await finish(job, code: code)
            case .vanished(let reason):
                if job.cancelRequested {
                    _ = try await store.apply(.cancel, to: job.id, changes: JobChanges(errorMessage: "cancelled"))
                } else {
                    _ = try await store.apply(.fail, to: job.id, changes: JobChanges(errorMessage: reason))
                }
                forget(job.id)
            }
        }
    }

    /// After `Backend.cancel` returned (the run's processes are gone).
    func cancelled(_ job: Job, backend: any Backend) async {
        var exit: Int?
        if case .exited(let code) = await backend.observe(job) { exit = Int(code) }
        do {
            _ = try await store.apply(.cancel, to: job.id, changes: JobChanges(exitCode: exit, errorMessage: "cancelled by its owner"))
        } catch {
            logger.error("could not record a cancel", metadata: ["job": "\(job.id)", "error": "\(error)"])
            cancelling.remove(job.id)  // try again on the next pass
            return
        }
        forget(job.id)
    }

    func finish(_ job: Job, code: Int32) async throws {
        defer { forget(job.id) }
        let exit = Int(code)
        if job.cancelRequested {
            _ = try await store.apply(.cancel, to: job.id, changes: JobChanges(exitCode: exit, errorMessage: "cancelled by its owner"))
            return
        }
        switch code {
        case 0:
            _ = try await store.apply(.complete, to: job.id, changes: JobChanges(exitCode: 0))
        case 75:
            // Stopped early with restart files: at its time limit it timed out, otherwise resume it.
            let ranFor = Double(Clock.microseconds() - (job.startedAt ?? job.submittedAt ?? job.createdAt)) / 1e6
            if ranFor >= 0.8 * Double(job.resources.wallClockLimit) {
                _ = try await store.apply(.timeOut, to: job.id, changes: JobChanges(
                    exitCode: exit, errorMessage: "reached its wall-clock limit of \(job.resources.wallClockLimit) s; restart files are in output/restartfiles"))
            } else {
                _ = try await store.apply(.requeue, to: job.id, changes: JobChanges(exitCode: exit, errorMessage: "stopped early with restart files; will resume"))
            }
        default:
            _ = try await store.apply(.fail, to: job.id, changes: JobChanges(
                exitCode: exit, errorMessage: "g4sim exited with status \(code); see the job's logs"))
        }
    }

    private func forget(_ id: String) {
        cancelling.remove(id)
        lastProgress.removeValue(forKey: id)
    }

    func dispatch() async throws {
        for job in try await store.jobs(in: [.queued, .requeued], limit: 1000) {
            if job.cancelRequested {
                _ = try await store.apply(.cancel, to: job.id, changes: JobChanges(errorMessage: "cancelled before it started"))
                continue
            }
            guard let backend = backends[job.backend] else { continue }  // another g4api's backend
            if let refusal = backend.refusal(for: job) {
                _ = try await store.apply(.fail, to: job.id, changes: JobChanges(errorMessage: refusal.description))
                continue
            }
            guard await backend.canStart(job) else { break }  // first come, first served
            do {
                let submission = try await backend.submit(job, resume: job.state == .requeued)
                guard let submitted = try await store.apply(.submit, to: job.id, changes: JobChanges(
                    schedulerJobID: submission.schedulerJobID, backendData: submission.backendData)) else {
                    // Cancelled meanwhile: stop what was just started.
                    var started = job
                    started.backendData = submission.backendData
                    await backend.cancel(started)
                    if let now = try await store.job(id: job.id, owner: nil), now.cancelRequested {
                        _ = try await store.apply(.cancel, to: job.id, changes: JobChanges())
                    }
                    continue
                }
                logger.info("submitted", metadata: ["job": "\(submitted.id)", "scheduler_job_id": "\(submission.schedulerJobID)"])
            } catch {
                logger.error("submit failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
                _ = try await store.apply(.fail, to: job.id, changes: JobChanges(errorMessage: "could not start: \(error)"))
            }
        }
    }
}
