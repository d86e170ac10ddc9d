import Foundation
import GRDB
import Jobs
import RunContract

/// The default store: one SQLite file in WAL mode through a GRDB
/// `DatabasePool` (concurrent readers, one writer).
///
/// Durability: every acknowledged insert is fsync'ed (`synchronous = FULL`).
/// GRDB's pool sets `synchronous = NORMAL` on its writer *after* the
/// `prepareDatabase` hook runs, so FULL is set again on the writer once the
/// pool is open (`synchronousLevel()` lets a test prove it).
///
/// Reads on the request path (one job, a page, a token) are synchronous:
/// GRDB then runs them on the calling thread, where the async form hopped to
/// a reader queue and back (two context switches per request, the largest
/// cost of a cached GET). They are short reads from SQLite's page cache.
///
/// Throughput: concurrent inserts are grouped into one transaction (one
/// fsync for the group; ≈ 0.2 ms per commit here), which is what lets
/// durable POSTs go well past one commit per request.
public final class SQLiteJobRepository: JobStorage, @unchecked Sendable {
    let pool: DatabasePool
    private let batcher: InsertBatcher

    /// Opens (creating if needed) the database at `path` and migrates it.
    public init(path: String, readers: Int = 8) throws {
        var config = Configuration()
        config.maximumReaderCount = readers
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Reads from a memory map and a 64 MB cache, not a pread per page.
            try db.execute(sql: "PRAGMA mmap_size = 1073741824")
            try db.execute(sql: "PRAGMA cache_size = -65536")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        pool = try DatabasePool(path: path, configuration: config)
        // Undo the pool's NORMAL on the writer (see the type's comment).
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        try Self.migrate(pool)
        batcher = InsertBatcher(pool: pool)
    }

    /// `PRAGMA synchronous` of the writer connection (2 = FULL).
    public func synchronousLevel() throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Applied migration versions.
    public func migrationVersions() throws -> [Int] {
        try pool.read { db in try Int.fetchAll(db, sql: "SELECT version FROM schema_migrations ORDER BY version") }
    }

    static func migrate(_ pool: DatabasePool) throws {
        try pool.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)")
            let applied = Set(try Int.fetchAll(db, sql: "SELECT version FROM schema_migrations"))
            for m in Schema.migrations where !applied.contains(m.version) {
                for sql in m.sqlite { try db.execute(sql: sql) }
                try db.execute(sql: "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                               arguments: [m.version, m.name, Clock.microseconds()])
            }
        }
    }

    /// A synchronous read (see the type's comment); being a non-async
    /// function is what makes Swift pick GRDB's blocking overload. Without a
    /// surrounding transaction: each request-path read is one statement (a
    /// listing's count and page may differ by a concurrent insert, which the
    /// cursor handles).
    func readNow<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.unsafeRead(body)
    }

    // MARK: Jobs

    public func insert(_ job: Job) async throws -> InsertOutcome {
        try await batcher.insert(job)
    }

    public func job(id: String, owner: String?) async throws -> Job? {
        try readNow { db in
            let statement = try db.cachedStatement(sql: "SELECT \(Schema.columns) FROM jobs WHERE id = ?")
            guard let row = try Row.fetchOne(statement, arguments: [id]) else { return nil }
            let job = try Self.decode(row)
            if let owner, job.owner != owner { return nil }
            return job
        }
    }

    public func list(_ query: JobQuery) async throws -> JobPage {
        try readNow { db in
            var conditions: [String] = []
            var arguments: [(any DatabaseValueConvertible)?] = []
            if let owner = query.owner { conditions.append("owner = ?"); arguments.append(owner) }
            if let states = query.states {
                conditions.append("state IN (\(states.map { _ in "?" }.joined(separator: ", ")))")
                arguments += states.map(\.rawValue).sorted()
            }
            if let backend = query.backend { conditions.append("backend = ?"); arguments.append(backend.rawValue) }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let total = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM jobs \(filter)"),
                                         arguments: StatementArguments(arguments)) ?? 0
            var pageConditions = conditions
            var pageArguments = arguments
            if let after = query.after {
                pageConditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
                pageArguments += [after.createdAt, after.createdAt, after.id]
            }
            let pageFilter = pageConditions.isEmpty ? "" : "WHERE " + pageConditions.joined(separator: " AND ")
            let offset = query.after == nil ? query.offset : 0
            let sql = "SELECT \(Schema.listColumns) FROM jobs \(pageFilter) ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
            pageArguments += [query.limit + 1, offset]
            let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: StatementArguments(pageArguments))
            var jobs: [Job] = []
            jobs.reserveCapacity(query.limit + 1)
            while let row = try rows.next() { jobs.append(try Self.decode(row)) }
            return JobPage(fetched: jobs, limit: query.limit, total: total)
        }
    }

    public func apply(_ transition: Transition, to id: String, changes: JobChanges) async throws -> Job? {
        try await pool.write { db in try Self.apply(transition, to: id, changes: changes, in: db) }
    }

    /// The compare-and-set of a transition, inside the caller's transaction.
    static func apply(_ transition: Transition, to id: String, changes: JobChanges, in db: Database) throws -> Job? {
        let now = Clock.microseconds()
        let from = transition.from.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        var sets = ["state = ?", "updated_at = ?"]
        var arguments: [(any DatabaseValueConvertible)?] = [transition.to.rawValue, now]
        switch transition.to {
        case .submitted: sets += ["submitted_at = ?", "attempts = attempts + 1"]; arguments.append(now)
        case .running: sets.append("started_at = COALESCE(started_at, ?)"); arguments.append(now)
        case .completed, .failed, .cancelled, .timedOut: sets.append("finished_at = ?"); arguments.append(now)
        case .queued, .requeued: break
        }
        if transition.to == .completed { sets.append("progress = 100") }
        // A job leaving the queue gives up any submission claim.
        if transition.to != .queued && transition.to != .requeued { sets.append("claimed_by = NULL, claimed_until = 0") }
        appendChanges(changes, to: &sets, &arguments)
        arguments.append(id)
        try db.execute(sql: "UPDATE jobs SET \(sets.joined(separator: ", ")) WHERE id = ? AND state IN (\(from))",
                       arguments: StatementArguments(arguments))
        guard db.changesCount == 1 else { return nil }
        return try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Schema.columns) FROM jobs WHERE id = ?"), arguments: [id])
            .map(decode)
    }

    public func update(_ id: String, changes: JobChanges) async throws {
        try await pool.write { db in
            var sets = ["updated_at = ?"]
            var arguments: [(any DatabaseValueConvertible)?] = [Clock.microseconds()]
            Self.appendChanges(changes, to: &sets, &arguments)
            arguments.append(id)
            try db.execute(sql: "UPDATE jobs SET \(sets.joined(separator: ", ")) WHERE id = ?", arguments: StatementArguments(arguments))
        }
    }

    static func appendChanges(_ c: JobChanges, to sets: inout [String], _ arguments: inout [(any DatabaseValueConvertible)?]) {
        if let v = c.progress { sets.append("progress = ?"); arguments.append(v) }
        if let v = c.schedulerJobID { sets.append("scheduler_job_id = ?"); arguments.append(v) }
        if let v = c.exitCode { sets.append("exit_code = ?"); arguments.append(v) }
        if let v = c.errorMessage { sets.append("error_message = ?"); arguments.append(v) }
        if let v = c.backendData { sets.append("backend_data = ?"); arguments.append(v) }
        if let v = c.memoryMB { sets.append("memory_mb = ?"); arguments.append(v) }
        if let v = c.backend { sets.append("backend = ?"); arguments.append(v.rawValue) }
        if let v = c.solverProgress { sets.append("solver_progress = ?"); arguments.append(String(decoding: v.encoded(), as: UTF8.self)) }
    }

    public func requestCancel(id: String) async throws -> Job? {
        try await pool.write { db in
            let open = JobState.allCases.filter { !$0.isTerminal }.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            try db.execute(sql: "UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND state IN (\(open)) AND cancel_requested = 0",
                           arguments: [Clock.microseconds(), id])
            return try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Schema.columns) FROM jobs WHERE id = ?"), arguments: [id])
                .map(Self.decode)
        }
    }

    public func jobs(in states: Set<JobState>, backend: BackendKind?, limit: Int) async throws -> [Job] {
        try await pool.read { db in
            let list = states.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
            let only = backend.map { "AND backend = '\($0.rawValue)'" } ?? ""
            return try Row.fetchAll(db, sql: "SELECT \(Schema.columns) FROM jobs WHERE state IN (\(list)) \(only) ORDER BY created_at, id LIMIT ?",
                                    arguments: [limit]).map(Self.decode)
        }
    }

    public func countsByState() async throws -> [JobState: Int] {
        try await pool.read { db in
            var counts: [JobState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM jobs GROUP BY state") {
                if let s = JobState(rawValue: row[0]) { counts[s] = row[1] }
            }
            return counts
        }
    }

    // MARK: Tokens

    public func insertToken(hash: String, user: String, admin: Bool) async throws {
        try await pool.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM api_tokens WHERE token_hash = ?", arguments: [hash]) != nil {
                throw StoreError.tokenExists
            }
            try db.execute(sql: "INSERT INTO api_tokens (token_hash, user_name, is_admin, created_at) VALUES (?, ?, ?, ?)",
                           arguments: [hash, user, admin, Clock.microseconds()])
        }
    }

    public func principal(tokenHash: String) async throws -> Principal? {
        try readNow { db in
            let statement = try db.cachedStatement(sql: "SELECT user_name, is_admin FROM api_tokens WHERE token_hash = ?")
            guard let row = try Row.fetchOne(statement, arguments: [tokenHash]) else { return nil }
            return Principal(user: row[0], isAdmin: row[1])
        }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    public func close() async throws {
        batcher.stop()
        try pool.close()
    }

    // MARK: Rows

    static func decode(_ row: Row) throws -> Job {
        guard let backend = BackendKind(rawValue: row[14]), let state = JobState(rawValue: row[15]) else {
            throw DatabaseError(message: "job \(row[0] as String) has an unknown backend or state")
        }
        return Job(id: row[0], owner: row[1], name: row[2], description: row[3], simulatorType: row[4], numParticles: row[5],
                   boxSize: row[6], parametersJSON: row[7], requestParametersJSON: row[30], parameterFile: row[8], outputList: row[9],
                   resources: Resources(ranks: row[10], nodes: row[11], wallClockLimit: row[12], memoryMB: row[13]),
                   placement: Placement(partition: row[31], account: row[32], qos: row[33]),
                   backend: backend, state: state, progress: row[16], cancelRequested: row[17], schedulerJobID: row[18],
                   exitCode: row[19], errorMessage: row[20], backendData: row[21],
                   solverProgress: (row[34] as String?).flatMap { SolverProgress.decode(Data($0.utf8)) }, idempotencyKey: row[22],
                   requestHash: row[23], attempts: row[24], createdAt: row[25], updatedAt: row[26], submittedAt: row[27],
                   startedAt: row[28], finishedAt: row[29], sweepID: row[35], rewritesJSON: row[36], mayFallBack: row[37])
    }

    static func arguments(_ j: Job) -> StatementArguments {
        let values: [(any DatabaseValueConvertible)?] = [
            j.id, j.owner, j.name, j.description, j.simulatorType, j.numParticles, j.boxSize, j.parametersJSON,
            j.parameterFile, j.outputList, j.resources.ranks, j.resources.nodes, j.resources.wallClockLimit,
            j.resources.memoryMB, j.backend.rawValue, j.state.rawValue, j.progress, j.cancelRequested, j.schedulerJobID,
            j.exitCode, j.errorMessage, j.backendData, j.idempotencyKey, j.requestHash, j.attempts, j.createdAt,
            j.updatedAt, j.submittedAt, j.startedAt, j.finishedAt, j.requestParametersJSON,
            j.placement.partition, j.placement.account, j.placement.qos,
            j.solverProgress.map { String(decoding: $0.encoded(), as: UTF8.self) }, j.sweepID, j.rewritesJSON, j.mayFallBack,
        ]
        return StatementArguments(values)
    }
}

/// Group commit: inserts that arrive while a commit is in flight wait and go
/// into the next transaction together. Each caller returns only after the
/// transaction holding its job has committed (and been fsync'ed).
final class InsertBatcher: @unchecked Sendable {
    private let pool: DatabasePool
    private let lock = NSLock()
    private var pending: [(Job, CheckedContinuation<InsertOutcome, any Error>)] = []
    private var lastCreatedAt: Int64 = 0
    private let wakeup: AsyncStream<Void>.Continuation
    private let task: Task<Void, Never>

    init(pool: DatabasePool) {
        self.pool = pool
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        wakeup = continuation
        let box = WeakBox()
        task = Task.detached {
            for await _ in stream {
                guard let batcher = box.value else { return }
                await batcher.drain()
            }
        }
        box.value = self
    }

    final class WeakBox: @unchecked Sendable { weak var value: InsertBatcher? }

    func stop() {
        wakeup.finish()
    }

    func insert(_ job: Job) async throws -> InsertOutcome {
        try await withCheckedThrowingContinuation { continuation in
            lock.withLock { pending.append((job, continuation)) }
            wakeup.yield()
        }
    }

    private func drain() async {
        while true {
            let batch = lock.withLock { () -> [(Job, CheckedContinuation<InsertOutcome, any Error>)] in
                defer { pending = [] }
                return pending
            }
            if batch.isEmpty { return }
            do {
                let outcomes = try await commit(batch.map(\.0))
                for (i, outcome) in outcomes.enumerated() { batch[i].1.resume(returning: outcome) }
            } catch {
                // Retry one by one so one bad job does not fail the others.
                for (job, continuation) in batch {
                    do { continuation.resume(returning: try await commit([job])[0]) } catch { continuation.resume(throwing: error) }
                }
            }
        }
    }

    /// One transaction for the whole group. `created_at` is assigned here,
    /// strictly increasing, so listing order is commit order.
    private func commit(_ jobs: [Job]) async throws -> [InsertOutcome] {
        let start = lastCreatedAt
        let (outcomes, last) = try await pool.write { db -> ([InsertOutcome], Int64) in
            var last = start
            var outcomes: [InsertOutcome] = []
            let insert = try db.cachedStatement(sql: "INSERT INTO jobs (\(Schema.insertColumns)) VALUES (\(Schema.insertPlaceholders))")
            let lookup = try db.cachedStatement(sql: "SELECT \(Schema.columns) FROM jobs WHERE owner = ? AND idempotency_key = ?")
            for var job in jobs {
                if let key = job.idempotencyKey,
                   let row = try Row.fetchOne(lookup, arguments: [job.owner, key]) {
                    outcomes.append(.existing(try SQLiteJobRepository.decode(row)))
                    continue
                }
                let now = max(Clock.microseconds(), last + 1)
                last = now
                job.createdAt = now
                job.updatedAt = now
                try insert.execute(arguments: SQLiteJobRepository.arguments(job))
                outcomes.append(.created(job))
            }
            return (outcomes, last)
        }
        lastCreatedAt = last
        return outcomes
    }
}
