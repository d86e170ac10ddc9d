import Foundation
import GRDB
import JobStore
import Jobs
import ServiceTestSupport
import Testing

/// One suite, both stores: every test runs against SQLite and PostgreSQL.
@Suite struct RepositoryTests {
    func newJob(_ owner: String = "alice", name: String = "job", key: String? = nil) throws -> Job {
        Job(owner: owner, spec: try TestJobs.spec(name: name), backend: .local, idempotencyKey: key, requestHash: key.map { "h-" + $0 })
    }

    func created(_ outcome: InsertOutcome) -> Job? {
        if case .created(let j) = outcome { return j }
        return nil
    }

    @Test(arguments: StoreKind.allCases)
    func insertAndReadBack(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let job = try newJob()
        let stored = try #require(created(try await store.insert(job)))
        let read = try #require(try await store.job(id: job.id, owner: "alice"))
        #expect(read == stored)
        #expect(read.parameterFile.contains("NSample") && read.state == .queued)
        #expect(try await store.job(id: job.id, owner: "bob") == nil)
        #expect(try await store.job(id: job.id, owner: nil) != nil)
        #expect(try await store.job(id: UUID().uuidString.lowercased(), owner: nil) == nil)
    }

    @Test(arguments: StoreKind.allCases)
    func timestampsHaveSubSecondResolution(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        var stamps: [Int64] = []
        for i in 0..<5 { stamps.append(try #require(created(try await store.insert(try newJob(name: "t\(i)")))).createdAt) }
        #expect(Set(stamps).count == 5)
        #expect(stamps.contains { $0 % 1_000_000 != 0 })
        let page = try await store.list(JobQuery(owner: "alice", limit: 10))
        #expect(Set(page.jobs.map(\.createdAt)) == Set(stamps))
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyKeyReturnsTheFirstJob(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let first = try #require(created(try await store.insert(try newJob(key: "k1"))))
        guard case .existing(let again) = try await store.insert(try newJob(key: "k1")) else {
            Issue.record("second insert with the same key created a job"); return
        }
        #expect(again.id == first.id)
        // Same key, other owner: a different job.
        #expect(created(try await store.insert(try newJob("bob", key: "k1"))) != nil)
        // Concurrent inserts with one key: exactly one job.
        let outcomes = try await withThrowingTaskGroup(of: InsertOutcome.self) { group in
            for _ in 0..<20 { group.addTask { try await store.insert(try self.newJob("carol", key: "same")) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.compactMap(created).count == 1)
        #expect(try await store.list(JobQuery(owner: "carol")).total == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func transitionsAreCompareAndSet(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let job = try #require(created(try await store.insert(try newJob())))
        #expect(try await store.apply(.start, to: job.id, changes: JobChanges()) == nil)  // queued ↛ running
        let submitted = try #require(try await store.apply(.submit, to: job.id, changes: JobChanges(schedulerJobID: "local:1", backendData: "{}")))
        #expect(submitted.state == .submitted && submitted.attempts == 1 && submitted.schedulerJobID == "local:1" && submitted.submittedAt != nil)
        #expect(try await store.apply(.submit, to: job.id, changes: JobChanges()) == nil)
        let running = try #require(try await store.apply(.start, to: job.id, changes: JobChanges()))
        #expect(running.startedAt != nil)
        try await store.update(job.id, changes: JobChanges(progress: 42.5))
        #expect(try await store.job(id: job.id, owner: nil)?.progress == 42.5)
        let done = try #require(try await store.apply(.complete, to: job.id, changes: JobChanges(exitCode: 0)))
        #expect(done.state == .completed && done.progress == 100 && done.exitCode == 0 && done.finishedAt != nil)
        for t in Transition.all { #expect(try await store.apply(t, to: job.id, changes: JobChanges()) == nil) }
        // Racing transitions: of cancel and submit on a queued job, exactly one wins.
        let other = try #require(created(try await store.insert(try newJob(name: "race"))))
        async let a = store.apply(.cancel, to: other.id, changes: JobChanges())
        async let b = store.apply(.submit, to: other.id, changes: JobChanges())
        let results = [try await a, try await b]
        #expect(results.compactMap { $0 }.count == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func cancelRequestOnlyForOpenJobs(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let job = try #require(created(try await store.insert(try newJob())))
        #expect(try await store.requestCancel(id: job.id)?.cancelRequested == true)
        _ = try await store.apply(.cancel, to: job.id, changes: JobChanges())
        let done = try #require(created(try await store.insert(try newJob(name: "done"))))
        _ = try await store.apply(.fail, to: done.id, changes: JobChanges(errorMessage: "x"))
        #expect(try await store.requestCancel(id: done.id)?.cancelRequested == false)
    }

    @Test(arguments: StoreKind.allCases)
    func listingFiltersAndPagesStably(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        var ids: [String] = []
        for i in 0..<25 {
            let j = try #require(created(try await store.insert(try newJob(i % 5 == 0 ? "bob" : "alice", name: "j\(i)"))))
            ids.append(j.id)
            if i % 3 == 0 { _ = try await store.apply(.cancel, to: j.id, changes: JobChanges()) }
        }
        let all = try await store.list(JobQuery(owner: nil, limit: 100))
        #expect(all.total == 25 && all.jobs.map(\.id) == ids.reversed())
        #expect(try await store.list(JobQuery(owner: "bob", limit: 100)).total == 5)
        #expect(try await store.list(JobQuery(owner: nil, states: [.cancelled], limit: 100)).total == 9)
        #expect(try await store.list(JobQuery(owner: nil, backend: .slurm, limit: 100)).total == 0)
        // Cursor paging while new jobs arrive: every old job exactly once, in order.
        var seen: [String] = []
        var cursor: JobStore.Cursor?
        repeat {
            let page = try await store.list(JobQuery(owner: nil, limit: 4, after: cursor))
            seen += page.jobs.map(\.id)
            cursor = page.nextCursor
            _ = try await store.insert(try newJob(name: "late"))
        } while cursor != nil
        #expect(seen == ids.reversed())
        // Offset paging as the seed did it.
        let second = try await store.list(JobQuery(owner: "alice", limit: 5, offset: 5))
        #expect(second.jobs.count == 5)
        #expect(try await store.countsByState()[.cancelled] == 9)
    }

    @Test(arguments: StoreKind.allCases)
    func tokensAreLookedUpByHash(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        try await store.insertToken(hash: "abc", user: "alice", admin: false)
        try await store.insertToken(hash: "def", user: "root", admin: true)
        #expect(try await store.principal(tokenHash: "abc") == Principal(user: "alice", isAdmin: false))
        #expect(try await store.principal(tokenHash: "def") == Principal(user: "root", isAdmin: true))
        #expect(try await store.principal(tokenHash: "nope") == nil)
        await #expect(throws: StoreError.tokenExists) { try await store.insertToken(hash: "abc", user: "eve", admin: true) }
        try await store.ping()
    }

    @Test(arguments: StoreKind.allCases)
    func jobsInStatesOldestFirst(_ kind: StoreKind) async throws {
        let store = try await kind.makeStore()
        defer { Task { try? await store.close() } }
        let a = try #require(created(try await store.insert(try newJob(name: "a"))))
        let b = try #require(created(try await store.insert(try newJob(name: "b"))))
        _ = try await store.apply(.submit, to: a.id, changes: JobChanges())
        #expect(try await store.jobs(in: [.queued], backend: nil, limit: 10).map(\.id) == [b.id])
        #expect(try await store.jobs(in: [.queued, .submitted], backend: nil, limit: 10).map(\.id) == [a.id, b.id])
    }
}

@Suite struct SQLiteSpecificTests {
    /// GRDB's pool sets synchronous = NORMAL on its writer after prepareDatabase;
    /// the store must set FULL again, or acknowledged jobs are not fsync'ed.
    @Test func writerIsSynchronousFullInWALMode() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("g4sync-\(UUID().uuidString.prefix(8))")
        let store = try SQLiteJobRepository(path: dir.appendingPathComponent("jobs.db").path)
        #expect(try store.synchronousLevel() == 2)
        let mode = try DatabaseQueue(path: dir.appendingPathComponent("jobs.db").path).read { db in
            try String.fetchOne(db, sql: "PRAGMA journal_mode")
        }
        #expect(mode == "wal")
        // A pool opened the plain way would not be FULL: the trap this guards against.
        let plain = try DatabasePool(path: dir.appendingPathComponent("other.db").path, configuration: {
            var c = Configuration()
            c.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            return c
        }())
        #expect(try plain.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 1)
    }

    @Test func migrationsAreVersionedAndRunOnce() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("g4mig-\(UUID().uuidString.prefix(8))/jobs.db").path
        let first = try SQLiteJobRepository(path: path)
        #expect(try first.migrationVersions() == [1, 2, 3])
        let second = try SQLiteJobRepository(path: path)
        #expect(try second.migrationVersions() == [1, 2, 3])
    }

    @Test func concurrentInsertsAreGroupedAndAllDurable() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("g4batch-\(UUID().uuidString.prefix(8))/jobs.db").path
        let store = try SQLiteJobRepository(path: path)
        let spec = try TestJobs.spec()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<300 { group.addTask { _ = try await store.insert(Job(owner: "u\(i % 3)", spec: spec, backend: .local)) } }
            try await group.waitForAll()
        }
        try await store.close()
        let reopened = try SQLiteJobRepository(path: path)
        #expect(try await reopened.list(JobQuery(owner: nil, limit: 1)).total == 300)
        let indexes = try await DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND name LIKE 'jobs_%'")
        }
        #expect(Set(indexes).isSuperset(of: ["jobs_created", "jobs_owner_created", "jobs_state_created"]))
    }
}
