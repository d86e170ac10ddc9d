import Foundation
import Jobs
import Logging
import PostgresNIO
import RunContract

/// The store for replicated deployments: PostgreSQL through postgres-nio's
/// connection pool. Same schema and semantics as the SQLite store; the
/// shared repository suite runs against both.
public final class PostgresJobRepository: JobStorage, @unchecked Sendable {
    let client: PostgresClient
    private let runTask: Task<Void, Never>
    let logger: Logger

    /// Connects to `url` (`postgresql://user:password@host:port/database`) and migrates.
    public init(url: String, logger: Logger = Logger(label: "g4.store.postgres")) async throws {
        guard let c = URLComponents(string: url), let host = c.host, !host.isEmpty else {
            throw PostgresURLError(url: url)
        }
        var config = PostgresClient.Configuration(
            host: host, port: c.port ?? 5432, username: c.user?.removingPercentEncoding ?? "postgres",
            password: c.password?.removingPercentEncoding, database: String(c.path.drop(while: { $0 == "/" })).nilIfEmpty,
            tls: .disable)
        config.options.maximumConnections = 16
        self.logger = logger
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        runTask = Task { await client.run() }
        try await migrate()
    }

    func migrate() async throws {
        try await client.withTransaction(logger: logger) { connection in
            // One migrator at a time across replicas.
            try await connection.query("SELECT pg_advisory_xact_lock(4242424242)", logger: self.logger)
            try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)", logger: self.logger)
            var applied = Set<Int>()
            for try await v in try await connection.query("SELECT version FROM schema_migrations", logger: self.logger).decode(Int.self) {
                applied.insert(v)
            }
            for m in Schema.migrations where !applied.contains(m.version) {
                for sql in m.postgres { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: self.logger) }
                try await connection.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (\(m.version), \(m.name), \(Int(Clock.microseconds())))", logger: self.logger)
            }
        }
    }

    public func migrationVersions() async throws -> [Int] {
        var out: [Int] = []
        for try await v in try await client.query("SELECT version FROM schema_migrations ORDER BY version").decode(Int.self) { out.append(v) }
        return out
    }

    // MARK: Jobs

    public func insert(_ job: Job) async throws -> InsertOutcome {
        try await client.withTransaction(logger: logger) { connection in
            if let key = job.idempotencyKey {
                let rows = try await connection.query(PostgresQuery(
                    unsafeSQL: "SELECT \(Schema.columns) FROM jobs WHERE owner = $1 AND idempotency_key = $2", binds: Self.binds([.text(job.owner), .text(key)])),
                    logger: self.logger).collect()
                if let row = rows.first { return InsertOutcome.existing(try Self.decode(row)) }
            }
            var j = job
            let now = Clock.microseconds()
            j.createdAt = now
            j.updatedAt = now
            let placeholders = (1...Schema.columnCount).map { "$\($0)" }.joined(separator: ", ")
            let rows = try await connection.query(PostgresQuery(
                unsafeSQL: "INSERT INTO jobs (\(Schema.insertColumns)) VALUES (\(placeholders)) ON CONFLICT DO NOTHING RETURNING id",
                binds: Self.binds(Self.values(j))), logger: self.logger).collect()
            if rows.isEmpty, let key = job.idempotencyKey {
                // A concurrent request with the same key won the race.
                let existing = try await connection.query(PostgresQuery(
                    unsafeSQL: "SELECT \(Schema.columns) FROM jobs WHERE owner = $1 AND idempotency_key = $2", binds: Self.binds([.text(job.owner), .text(key)])),
                    logger: self.logger).collect()
                if let row = existing.first { return InsertOutcome.existing(try Self.decode(row)) }
            }
            return InsertOutcome.created(j)
        }
    }

    public func job(id: String, owner: String?) async throws -> Job? {
        let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT \(Schema.columns) FROM jobs WHERE id = $1", binds: Self.binds([.text(id)])))
            .collect()
        guard let row = rows.first else { return nil }
        let job = try Self.decode(row)
        if let owner, job.owner != owner { return nil }
        return job
    }

    public func list(_ query: JobQuery) async throws -> JobPage {
        var conditions: [String] = []
        var values: [PGValue] = []
        func next() -> String { "$\(values.count + 1)" }
        if let owner = query.owner { conditions.append("owner = \(next())"); values.append(.text(owner)) }
        if let states = query.states {
            var marks: [String] = []
            for s in states.map(\.rawValue).sorted() { marks.append(next()); values.append(.text(s)) }
            conditions.append("state IN (\(marks.joined(separator: ", ")))")
        }
        if let backend = query.backend { conditions.append("backend = \(next())"); values.append(.text(backend.rawValue)) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        var total = 0
        for try await n in try await client.query(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM jobs \(filter)", binds: Self.binds(values)))
            .decode(Int.self) { total = n }
        var pageConditions = conditions
        if let after = query.after {
            let a = next(); values.append(.int(Int(after.createdAt)))
            let b = next(); values.append(.text(after.id))
            pageConditions.append("(created_at < \(a) OR (created_at = \(a) AND id < \(b)))")
        }
        let pageFilter = pageConditions.isEmpty ? "" : "WHERE " + pageConditions.joined(separator: " AND ")
        let l = next(); values.append(.int(query.limit + 1))
        let o = next(); values.append(.int(query.after == nil ? query.offset : 0))
        let rows = try await client.query(PostgresQuery(
            unsafeSQL: "SELECT \(Schema.listColumns) FROM jobs \(pageFilter) ORDER BY created_at DESC, id DESC LIMIT \(l) OFFSET \(o)",
            binds: Self.binds(values))).collect()
        return JobPage(fetched: try rows.map(Self.decode), limit: query.limit, total: total)
    }

    public func apply(_ transition: Transition, to id: String, changes: JobChanges) async throws -> Job? {
        let rows = try await client.query(Self.applyQuery(transition, to: id, changes: changes)).collect()
        return try rows.first.map(Self.decode)
    }

    /// The compare-and-set of a transition, as one UPDATE ... RETURNING.
    static func applyQuery(_ transition: Transition, to id: String, changes: JobChanges) -> PostgresQuery {
        let now = Int(Clock.microseconds())
        var sets = ["state = $1", "updated_at = $2"]
        var values: [PGValue] = [.text(transition.to.rawValue), .int(now)]
        switch transition.to {
        case .submitted: sets += ["submitted_at = $2", "attempts = attempts + 1"]
        case .running: sets.append("started_at = COALESCE(started_at, $2)")
        case .completed, .failed, .cancelled, .timedOut: sets.append("finished_at = $2")
        case .queued, .requeued: break
        }
        if transition.to == .completed { sets.append("progress = 100") }
        // A job leaving the queue gives up any submission claim.
        if transition.to != .queued && transition.to != .requeued { sets.append("claimed_by = NULL, claimed_until = 0") }
        appendChanges(changes, &sets, &values)
        values.append(.text(id))
        let from = transition.from.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        return PostgresQuery(
            unsafeSQL: "UPDATE jobs SET \(sets.joined(separator: ", ")) WHERE id = $\(values.count) AND state IN (\(from)) RETURNING \(Schema.columns)",
            binds: binds(values))
    }

    public func update(_ id: String, changes: JobChanges) async throws {
        var sets = ["updated_at = $1"]
        var values: [PGValue] = [.int(Int(Clock.microseconds()))]
        Self.appendChanges(changes, &sets, &values)
        values.append(.text(id))
        try await client.query(PostgresQuery(unsafeSQL: "UPDATE jobs SET \(sets.joined(separator: ", ")) WHERE id = $\(values.count)",
                                             binds: Self.binds(values)))
    }

    static func appendChanges(_ c: JobChanges, _ sets: inout [String], _ values: inout [PGValue]) {
        func add(_ column: String, _ v: PGValue) { values.append(v); sets.append("\(column) = $\(values.count)") }
        if let v = c.progress { add("progress", .double(v)) }
        if let v = c.schedulerJobID { add("scheduler_job_id", .text(v)) }
        if let v = c.exitCode { add("exit_code", .int(v)) }
        if let v = c.errorMessage { add("error_message", .text(v)) }
        if let v = c.backendData { add("backend_data", .text(v)) }
        if let v = c.memoryMB { add("memory_mb", .int(v)) }
        if let v = c.backend { add("backend", .text(v.rawValue)) }
        if let v = c.solverProgress { add("solver_progress", .text(String(decoding: v.encoded(), as: UTF8.self))) }
    }

    public func requestCancel(id: String) async throws -> Job? {
        let open = JobState.allCases.filter { !$0.isTerminal }.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        try await client.query(PostgresQuery(
            unsafeSQL: "UPDATE jobs SET cancel_requested = TRUE, updated_at = $1 WHERE id = $2 AND state IN (\(open)) AND NOT cancel_requested",
            binds: Self.binds([.int(Int(Clock.microseconds())), .text(id)])))
        return try await job(id: id, owner: nil)
    }

    public func jobs(in states: Set<JobState>, backend: BackendKind?, limit: Int) async throws -> [Job] {
        let list = states.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        let only = backend.map { "AND backend = '\($0.rawValue)'" } ?? ""
        let rows = try await client.query(PostgresQuery(
            unsafeSQL: "SELECT \(Schema.columns) FROM jobs WHERE state IN (\(list)) \(only) ORDER BY created_at, id LIMIT $1",
            binds: Self.binds([.int(limit)]))).collect()
        return try rows.map(Self.decode)
    }

    public func countsByState() async throws -> [JobState: Int] {
        var counts: [JobState: Int] = [:]
        for try await (state, n) in try await client.query("SELECT state, COUNT(*) FROM jobs GROUP BY state").decode((String, Int).self) {
            if let s = JobState(rawValue: state) { counts[s] = n }
        }
        return counts
    }

    // MARK: Tokens

    public func insertToken(hash: String, user: String, admin: Bool) async throws {
        let rows = try await client.query(
            "INSERT INTO api_tokens (token_hash, user_name, is_admin, created_at) VALUES (\(hash), \(user), \(admin), \(Int(Clock.microseconds()))) ON CONFLICT DO NOTHING RETURNING token_hash"
        ).collect()
        if rows.isEmpty { throw StoreError.tokenExists }
    }

    public func principal(tokenHash: String) async throws -> Principal? {
        for try await (user, admin) in try await client.query("SELECT user_name, is_admin FROM api_tokens WHERE token_hash = \(tokenHash)")
            .decode((String, Bool).self) {
            return Principal(user: user, isAdmin: admin)
        }
        return nil
    }

    public func ping() async throws {
        try await client.query("SELECT 1")
    }

    public func close() async throws {
        runTask.cancel()
        _ = await runTask.result
    }

    // MARK: Rows

    static func decode(_ row: PostgresRow) throws -> Job {
        let r = row.makeRandomAccess()
        func s(_ i: Int) throws -> String { try r[i].decode(String.self) }
        func os(_ i: Int) throws -> String? { try r[i].decode(String?.self) }
        func n(_ i: Int) throws -> Int { try r[i].decode(Int.self) }
        func on(_ i: Int) throws -> Int? { try r[i].decode(Int?.self) }
        guard let backend = BackendKind(rawValue: try s(14)), let state = JobState(rawValue: try s(15)) else {
            throw PostgresURLError(url: "job row with an unknown backend or state")
        }
        return Job(id: try s(0), owner: try s(1), name: try s(2), description: try s(3), simulatorType: try s(4),
                   numParticles: try n(5), boxSize: try r[6].decode(Double.self), parametersJSON: try s(7), requestParametersJSON: try s(30),
                   parameterFile: try s(8), outputList: try s(9),
                   resources: Resources(ranks: try n(10), nodes: try n(11), wallClockLimit: try n(12), memoryMB: try n(13)),
                   placement: Placement(partition: try os(31), account: try os(32), qos: try os(33)),
                   backend: backend, state: state, progress: try r[16].decode(Double.self),
                   cancelRequested: try r[17].decode(Bool.self), schedulerJobID: try os(18), exitCode: try on(19),
                   errorMessage: try os(20), backendData: try os(21),
                   solverProgress: try os(34).flatMap { SolverProgress.decode(Data($0.utf8)) },
                   idempotencyKey: try os(22), requestHash: try os(23),
                   attempts: try n(24), createdAt: Int64(try n(25)), updatedAt: Int64(try n(26)),
                   submittedAt: try on(27).map(Int64.init), startedAt: try on(28).map(Int64.init),
                   finishedAt: try on(29).map(Int64.init), sweepID: try os(35), rewritesJSON: try s(36), mayFallBack: try r[37].decode(Bool.self))
    }

    static func values(_ j: Job) -> [PGValue] {
        [.text(j.id), .text(j.owner), .text(j.name), .text(j.description), .text(j.simulatorType), .int(j.numParticles),
         .double(j.boxSize), .text(j.parametersJSON), .text(j.parameterFile), .text(j.outputList), .int(j.resources.ranks),
         .int(j.resources.nodes), .int(j.resources.wallClockLimit), .int(j.resources.memoryMB), .text(j.backend.rawValue),
         .text(j.state.rawValue), .double(j.progress), .bool(j.cancelRequested), .text(j.schedulerJobID), .int(j.exitCode),
         .text(j.errorMessage), .text(j.backendData), .text(j.idempotencyKey), .text(j.requestHash), .int(j.attempts),
         .int(Int(j.createdAt)), .int(Int(j.updatedAt)), .int(j.submittedAt.map(Int.init)), .int(j.startedAt.map(Int.init)),
         .int(j.finishedAt.map(Int.init)), .text(j.requestParametersJSON), .text(j.placement.partition),
         .text(j.placement.account), .text(j.placement.qos),
         .text(j.solverProgress.map { String(decoding: $0.encoded(), as: UTF8.self) }), .text(j.sweepID), .text(j.rewritesJSON), .bool(j.mayFallBack)]
    }

    static func binds(_ values: [PGValue]) -> PostgresBindings {
        var b = PostgresBindings(capacity: values.count)
        for v in values {
            switch v {
            case .text(let s): b.append(s)
            case .int(let i): b.append(i)
            case .double(let d): b.append(d)
            case .optionalDouble(let d): b.append(d)
            case .bool(let f): b.append(f)
            case .bytes(let bytes): b.append(ByteBuffer(bytes: bytes))
            }
        }
        return b
    }
}

/// A bind value with its type (NULLs keep theirs).
enum PGValue: Sendable {
    case text(String?)
    case int(Int?)
    case double(Double)
    case optionalDouble(Double?)
    case bool(Bool)
    case bytes([UInt8])
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

struct PostgresURLError: Error, CustomStringConvertible {
    let url: String
    var description: String { "not a PostgreSQL URL (postgresql://user:password@host:port/database): \(url)" }
}
