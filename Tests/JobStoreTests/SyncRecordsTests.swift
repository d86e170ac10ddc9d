import Foundation
import JobStore
import Jobs
import ServiceTestSupport
import Testing

/// What the sync loops rely on the store for, on both stores: exclusive
/// claims, claims that expire, the attempts history, log chunks that cannot
/// overlap or leave gaps, and leases.
@Suite struct SyncRecordsTests {
    func insert(_ store: any JobStorage, _ n: Int, backend: BackendKind = .slurm) async throws -> [Job] {
        var jobs: [Job] = []
        for i in 0..<n {
            if case .created(let j) = try await store.insert(Job(owner: "alice", spec: try TestJobs.spec(name: "j\(i)"), backend: backend)) {
                jobs.append(j)
            }
        }
        return jobs
    }

    func attempt(_ job: Job, number: Int = 1, slurmID: String = "1") -> JobAttempt {
        JobAttempt(jobID: job.id, number: number, backend: job.backend, schedulerJobID: slurmID, resumed: number > 1, memoryMB: 1800,
                   why: number == 1 ? "first attempt" : "resumed", script: "#!/bin/bash\n", submittedAt: 0)
    }

    /// Four submitters claiming at once never get the same job, and together get every one.
    @Test(arguments: StoreKind.allCases)
    func claimsAreExclusive(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let jobs = try await insert(store, 60)
        _ = try await insert(store, 5, backend: .local)  // another backend's: never claimed here
        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for owner in 0..<4 {
                group.addTask {
                    var mine: [String] = []
                    while true {
                        let batch = try await store.claimJobs(backend: .slurm, owner: "submitter-\(owner)", limit: 7, leaseSeconds: 300)
                        if batch.isEmpty { return mine }
                        mine += batch.map(\.job.id)
                    }
                }
            }
            var all: [String] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(claimed.count == 60 && Set(claimed) == Set(jobs.map(\.id)), "\(claimed.count) claims for 60 jobs")
        #expect(try await store.claimJobs(backend: .slurm, owner: "late", limit: 100, leaseSeconds: 300).isEmpty)
    }

    /// A claim that expired is taken by the next claimer, which is told the
    /// first may have handed the attempt over; only the live claimer records the submission.
    @Test(arguments: StoreKind.allCases)
    func expiredClaimsAreRetakenWithAWarning(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let job = try #require(try await insert(store, 1).first)
        let first = try #require(try await store.claimJobs(backend: .slurm, owner: "a", limit: 1, leaseSeconds: 0).first)
        #expect(!first.mayHaveLaunched)
        usleep(2000)  // past the zero-second lease
        let second = try #require(try await store.claimJobs(backend: .slurm, owner: "b", limit: 1, leaseSeconds: 300).first)
        #expect(second.mayHaveLaunched)
        #expect(try await store.recordSubmission(attempt(job), owner: "a", backendData: "{}", memoryMB: 1800) == nil)
        let submitted = try #require(try await store.recordSubmission(attempt(job), owner: "b", backendData: "{\"x\":1}", memoryMB: 2000))
        #expect(submitted.state == .submitted && submitted.attempts == 1 && submitted.schedulerJobID == "1")
        #expect(submitted.resources.memoryMB == 2000 && submitted.backendData == "{\"x\":1}")
        #expect(try await store.recordSubmission(attempt(job), owner: "b", backendData: "{}", memoryMB: 1800) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func releasedClaimsWaitForTheirBackoff(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let job = try #require(try await insert(store, 1).first)
        _ = try await store.claimJobs(backend: .slurm, owner: "a", limit: 1, leaseSeconds: 300)
        try await store.releaseClaim(jobID: job.id, owner: "a", notBefore: Clock.microseconds() + 3_600_000_000)
        #expect(try await store.claimJobs(backend: .slurm, owner: "b", limit: 1, leaseSeconds: 300).isEmpty)
        try await store.releaseClaim(jobID: job.id, owner: "b", notBefore: nil)  // not b's: no effect
        _ = try await store.claimJobs(backend: .slurm, owner: "b", limit: 1, leaseSeconds: 300)
        #expect(try await store.job(id: job.id, owner: nil)?.state == .queued)
    }

    /// Endings close the attempt and move the job in one step; the history
    /// comes back with its accounting.
    @Test(arguments: StoreKind.allCases)
    func attemptsHistoryWithAccounting(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let job = try #require(try await insert(store, 1).first)
        _ = try await store.claimJobs(backend: .slurm, owner: "a", limit: 1, leaseSeconds: 300)
        _ = try #require(try await store.recordSubmission(attempt(job, slurmID: "41"), owner: "a", backendData: "{}", memoryMB: 1800))
        let rows = [AccountingRow(step: "", state: "TIMEOUT", exitCode: "0:0", elapsedSeconds: 61, totalCPUSeconds: 100.5, maxRSSKB: nil,
                                  nodeList: "n1", start: "2026-12-01T12:00:00", end: "2026-12-01T12:01:01"),
                    AccountingRow(step: "batch", state: "CANCELLED", exitCode: "0:15", elapsedSeconds: 61, totalCPUSeconds: 100.5,
                                  maxRSSKB: 20480, nodeList: "n1", start: nil, end: nil)]
        try await store.saveAccounting(jobID: job.id, attempt: 1, rows: rows)
        try await store.saveAccounting(jobID: job.id, attempt: 1, rows: rows)  // replaced, not doubled
        let now = Clock.microseconds()
        let ending = AttemptEnding(endedAt: now, kind: "time_limit", exitCode: 0, reason: "TIMEOUT", chargeable: true)
        let requeued = try #require(try await store.recordEnding(jobID: job.id, attempt: 1, transition: .requeue,
                                                                 changes: JobChanges(errorMessage: "resuming"), ending: ending,
                                                                 accountingUntil: now + 60_000_000))
        #expect(requeued.state == .requeued && requeued.errorMessage == "resuming")
        #expect(try await store.recordEnding(jobID: job.id, attempt: 1, transition: .complete, changes: JobChanges(), ending: ending,
                                             accountingUntil: now) == nil)
        let history = try await store.attempts(jobID: job.id)
        #expect(history.count == 1 && history[0].ending == ending && history[0].schedulerJobID == "41")
        #expect(history[0].accounting.sorted { $0.step < $1.step } == rows && history[0].script == "#!/bin/bash\n")
        #expect(try await store.attemptsAwaitingAccounting(backend: .slurm, now: now).map(\.jobID) == [job.id])
        #expect(try await store.attemptsAwaitingAccounting(backend: .slurm, now: now + 120_000_000).isEmpty)
        // The second attempt.
        let again = try #require(try await store.claimJobs(backend: .slurm, owner: "a", limit: 1, leaseSeconds: 300).first)
        #expect(again.job.attempts == 1)
        _ = try #require(try await store.recordSubmission(attempt(job, number: 2, slurmID: "42"), owner: "a", backendData: "{}", memoryMB: 1800))
        #expect(try await store.attempts(jobID: job.id).map(\.number) == [1, 2])
    }

    /// Log chunks go only where the stored log ends: a resent or racing
    /// chunk is dropped, never stored twice or past a gap.
    @Test(arguments: StoreKind.allCases)
    func logChunksNeitherOverlapNorLeaveGaps(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let job = try #require(try await insert(store, 1).first)
        let text = Array("first line\nsecond line\nthird line\n".utf8)
        #expect(try await store.appendLog(jobID: job.id, stream: .stdout, offset: 0, bytes: Array(text[..<11])))
        #expect(try await !store.appendLog(jobID: job.id, stream: .stdout, offset: 0, bytes: Array(text[..<11])))  // resent
        #expect(try await !store.appendLog(jobID: job.id, stream: .stdout, offset: 20, bytes: Array(text[20...])))  // past a gap
        // Two writers with the same next chunk at once: one wins.
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<2 { group.addTask { try await store.appendLog(jobID: job.id, stream: .stdout, offset: 11, bytes: Array(text[11...])) } }
            var out: [Bool] = []
            for try await r in group { out.append(r) }
            return out
        }
        #expect(results.filter { $0 }.count == 1)
        #expect(try await store.logLength(jobID: job.id, stream: .stdout) == Int64(text.count))
        #expect(try await store.logLength(jobID: job.id, stream: .stderr) == 0)
        let (all, end) = try await store.logBytes(jobID: job.id, stream: .stdout, from: 0, limit: 1 << 20)
        #expect(all == text && end == Int64(text.count))
        let (tail, _) = try await store.logBytes(jobID: job.id, stream: .stdout, from: 15, limit: 1 << 20)
        #expect(tail == Array(text[15...]))
    }

    @Test(arguments: StoreKind.allCases)
    func leasesHaveOneHolder(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        #expect(try await store.acquireLease("watch:slurm", owner: "a", seconds: 60))
        #expect(try await !store.acquireLease("watch:slurm", owner: "b", seconds: 60))
        #expect(try await store.acquireLease("watch:slurm", owner: "a", seconds: 60))  // renewed
        #expect(try await store.acquireLease("watch:local", owner: "b", seconds: 60))  // another lease
        try await store.releaseLease("watch:slurm", owner: "b")  // not b's
        #expect(try await !store.acquireLease("watch:slurm", owner: "b", seconds: 60))
        try await store.releaseLease("watch:slurm", owner: "a")
        #expect(try await store.acquireLease("watch:slurm", owner: "b", seconds: 0))
        usleep(2000)
        #expect(try await store.acquireLease("watch:slurm", owner: "c", seconds: 60))  // b's expired
    }
}
