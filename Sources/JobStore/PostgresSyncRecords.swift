import Foundation
import Jobs
import RunContract
import NIOCore
import PostgresNIO

/// Claims, attempts, accounting, leases and log chunks on PostgreSQL, where
/// several g4api replicas and g4sync write at once: claims take rows with
/// `FOR UPDATE SKIP LOCKED`, and every other write is a single statement or
/// one transaction.
extension PostgresJobRepository {
    // MARK: Claims

    public func claimJobs(backend: BackendKind, owner: String, limit: Int, leaseSeconds: Int) async throws -> [ClaimedJob] {
        let now = Int(Clock.microseconds())
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            WITH c AS (
              SELECT id, launching_attempt AS previous FROM jobs
              WHERE backend = $1 AND state IN ('queued', 'requeued') AND claimed_until < $2 AND not_before <= $2
              ORDER BY created_at, id LIMIT $3 FOR UPDATE SKIP LOCKED
            )
            UPDATE jobs j SET claimed_by = $4, claimed_until = $5, launching_attempt = j.attempts + 1
            FROM c WHERE j.id = c.id
            RETURNING \(Schema.columns(of: "j")), c.previous
            """, binds: Self.binds([.text(backend.rawValue), .int(now), .int(limit), .text(owner),
                                    .int(now + leaseSeconds * 1_000_000)]))).collect()
        var claimed: [ClaimedJob] = []
        for row in rows {
            let job = try Self.decode(row)
            let previous = try row.makeRandomAccess()[Schema.columnCount].decode(Int.self)
            claimed.append(ClaimedJob(job: job, mayHaveLaunched: previous == job.attempts + 1))
        }
        return claimed.sorted { ($0.job.createdAt, $0.job.id) < ($1.job.createdAt, $1.job.id) }
    }

    public func renewClaim(jobID: String, owner: String, leaseSeconds: Int) async throws -> Bool {
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            UPDATE jobs SET claimed_until = $1 WHERE id = $2 AND claimed_by = $3 AND state IN ('queued', 'requeued') RETURNING id
            """, binds: Self.binds([.int(Int(Clock.microseconds()) + leaseSeconds * 1_000_000), .text(jobID), .text(owner)]))).collect()
        return !rows.isEmpty
    }

    public func releaseClaim(jobID: String, owner: String, notBefore: Int64?) async throws {
        try await client.query(PostgresQuery(unsafeSQL: """
            UPDATE jobs SET claimed_by = NULL, claimed_until = 0, not_before = COALESCE($1, not_before)
            WHERE id = $2 AND claimed_by = $3
            """, binds: Self.binds([.int(notBefore.map(Int.init)), .text(jobID), .text(owner)])))
    }

    public func recordSubmission(_ attempt: JobAttempt, owner: String, backendData: String, memoryMB: Int) async throws -> Job? {
        try await client.withTransaction(logger: logger) { connection in
            let now = Int(Clock.microseconds())
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                UPDATE jobs SET state = 'submitted', updated_at = $1, submitted_at = $1, attempts = attempts + 1,
                  scheduler_job_id = $2, backend_data = $3, memory_mb = $4, claimed_by = NULL, claimed_until = 0
                WHERE id = $5 AND state IN ('queued', 'requeued') AND claimed_by = $6 AND attempts + 1 = $7
                RETURNING \(Schema.columns)
                """, binds: Self.binds([.int(now), .text(attempt.schedulerJobID), .text(backendData), .int(memoryMB),
                                        .text(attempt.jobID), .text(owner), .int(attempt.number)])), logger: self.logger).collect()
            guard let row = rows.first else { return nil }
            try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO job_attempts (job_id, attempt, backend, scheduler_job_id, resumed, memory_mb, why, submitted_at, script)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING
                """, binds: Self.binds([.text(attempt.jobID), .int(attempt.number), .text(attempt.backend.rawValue),
                                        .text(attempt.schedulerJobID), .bool(attempt.resumed), .int(attempt.memoryMB),
                                        .text(attempt.why), .int(now), .text(attempt.script)])), logger: self.logger)
            return try Self.decode(row)
        }
    }

    public func recordEnding(jobID: String, attempt: Int, transition: Transition, changes: JobChanges, ending: AttemptEnding,
                             accountingUntil: Int64) async throws -> Job? {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: """
                UPDATE job_attempts SET ended_at = $1, ending = $2, exit_code = $3, reason = $4, chargeable = $5, accounting_until = $6
                WHERE job_id = $7 AND attempt = $8 AND ended_at IS NULL
                """, binds: Self.binds([.int(Int(ending.endedAt)), .text(ending.kind), .int(ending.exitCode), .text(ending.reason),
                                        .bool(ending.chargeable), .int(Int(accountingUntil)), .text(jobID), .int(attempt)])),
                logger: self.logger)
            let rows = try await connection.query(Self.applyQuery(transition, to: jobID, changes: changes), logger: self.logger).collect()
            return try rows.first.map(Self.decode)
        }
    }

    static let attemptColumns = """
        job_id, attempt, backend, scheduler_job_id, resumed, memory_mb, why, submitted_at, ended_at, ending, exit_code, \
        reason, chargeable
        """

    public func attempts(jobID: String) async throws -> [JobAttempt] {
        var attempts = try await client.query(PostgresQuery(
            unsafeSQL: "SELECT \(Self.attemptColumns), script FROM job_attempts WHERE job_id = $1 ORDER BY attempt",
            binds: Self.binds([.text(jobID)]))).collect().map(Self.decodeAttempt)
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            SELECT attempt, step, state, exit_code, elapsed_seconds, total_cpu_seconds, max_rss_kb, node_list, start_time, end_time
            FROM job_accounting WHERE job_id = $1 ORDER BY attempt, step
            """, binds: Self.binds([.text(jobID)]))).collect()
        for row in rows {
            let r = row.makeRandomAccess()
            let number = try r[0].decode(Int.self)
            guard let i = attempts.firstIndex(where: { $0.number == number }) else { continue }
            attempts[i].accounting.append(AccountingRow(
                step: try r[1].decode(String.self), state: try r[2].decode(String.self), exitCode: try r[3].decode(String.self),
                elapsedSeconds: try r[4].decode(Int?.self), totalCPUSeconds: try r[5].decode(Double?.self),
                maxRSSKB: try r[6].decode(Int?.self), nodeList: try r[7].decode(String?.self),
                start: try r[8].decode(String?.self), end: try r[9].decode(String?.self)))
        }
        return attempts
    }

    static func decodeAttempt(_ row: PostgresRow) throws -> JobAttempt {
        let r = row.makeRandomAccess()
        guard let backend = BackendKind(rawValue: try r[2].decode(String.self)) else {
            throw PostgresURLError(url: "attempt row with an unknown backend")
        }
        var ending: AttemptEnding?
        if let ended = try r[8].decode(Int?.self) {
            ending = AttemptEnding(endedAt: Int64(ended), kind: try r[9].decode(String?.self) ?? "unknown",
                                   exitCode: try r[10].decode(Int?.self), reason: try r[11].decode(String?.self) ?? "",
                                   chargeable: try r[12].decode(Bool?.self) ?? true)
        }
        let script = r.count > 13 ? try r[13].decode(String?.self) : nil
        return JobAttempt(jobID: try r[0].decode(String.self), number: try r[1].decode(Int.self), backend: backend,
                          schedulerJobID: try r[3].decode(String?.self), resumed: try r[4].decode(Bool.self),
                          memoryMB: try r[5].decode(Int.self), why: try r[6].decode(String.self), script: script,
                          submittedAt: Int64(try r[7].decode(Int.self)), ending: ending)
    }

    public func saveAccounting(jobID: String, attempt: Int, rows: [AccountingRow]) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM job_accounting WHERE job_id = $1 AND attempt = $2",
                                                     binds: Self.binds([.text(jobID), .int(attempt)])), logger: self.logger)
            for r in rows {
                try await connection.query(PostgresQuery(unsafeSQL: """
                    INSERT INTO job_accounting (job_id, attempt, step, state, exit_code, elapsed_seconds, total_cpu_seconds,
                      max_rss_kb, node_list, start_time, end_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                    ON CONFLICT DO NOTHING
                    """, binds: Self.binds([.text(jobID), .int(attempt), .text(r.step), .text(r.state), .text(r.exitCode),
                                            .int(r.elapsedSeconds), .optionalDouble(r.totalCPUSeconds), .int(r.maxRSSKB),
                                            .text(r.nodeList), .text(r.start), .text(r.end)])), logger: self.logger)
            }
        }
    }

    public func attemptsAwaitingAccounting(backend: BackendKind, now: Int64) async throws -> [JobAttempt] {
        try await client.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.attemptColumns) FROM job_attempts WHERE backend = $1 AND accounting_until > $2 ORDER BY submitted_at
            """, binds: Self.binds([.text(backend.rawValue), .int(Int(now))]))).collect().map(Self.decodeAttempt)
    }

    // MARK: Leases

    public func acquireLease(_ name: String, owner: String, seconds: Int) async throws -> Bool {
        let now = Int(Clock.microseconds())
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            INSERT INTO sync_leases (name, owner, expires_at) VALUES ($1, $2, $3)
            ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
            WHERE sync_leases.owner = EXCLUDED.owner OR sync_leases.expires_at < $4
            RETURNING owner
            """, binds: Self.binds([.text(name), .text(owner), .int(now + seconds * 1_000_000), .int(now)]))).collect()
        return !rows.isEmpty
    }

    public func releaseLease(_ name: String, owner: String) async throws {
        try await client.query(PostgresQuery(unsafeSQL: "DELETE FROM sync_leases WHERE name = $1 AND owner = $2",
                                             binds: Self.binds([.text(name), .text(owner)])))
    }

    // MARK: Logs

    @discardableResult
    public func appendLog(jobID: String, stream: LogStream, offset: Int64, bytes: [UInt8]) async throws -> Bool {
        guard !bytes.isEmpty else { return true }
        // Stored only where the log ends; two concurrent appends at the same
        // offset collide on the primary key and one of them is dropped.
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            INSERT INTO log_chunks (job_id, stream, byte_offset, byte_end, data)
            SELECT $1, $2, $3, $4, $5
            WHERE (SELECT COALESCE(MAX(byte_end), 0) FROM log_chunks WHERE job_id = $1 AND stream = $2) = $3
            ON CONFLICT DO NOTHING RETURNING byte_end
            """, binds: Self.binds([.text(jobID), .text(stream.rawValue), .int(Int(offset)), .int(Int(offset) + bytes.count),
                                    .bytes(bytes)]))).collect()
        return !rows.isEmpty
    }

    public func logLength(jobID: String, stream: LogStream) async throws -> Int64 {
        for try await n in try await client.query(PostgresQuery(
            unsafeSQL: "SELECT COALESCE(MAX(byte_end), 0) FROM log_chunks WHERE job_id = $1 AND stream = $2",
            binds: Self.binds([.text(jobID), .text(stream.rawValue)]))).decode(Int.self) {
            return Int64(n)
        }
        return 0
    }

    public func logBytes(jobID: String, stream: LogStream, from offset: Int64, limit: Int) async throws -> (bytes: [UInt8], end: Int64) {
        let rows = try await client.query(PostgresQuery(unsafeSQL: """
            SELECT byte_offset, byte_end, data FROM log_chunks
            WHERE job_id = $1 AND stream = $2 AND byte_end > $3 ORDER BY byte_offset LIMIT 256
            """, binds: Self.binds([.text(jobID), .text(stream.rawValue), .int(Int(offset))])))
        var out: [UInt8] = []
        var end = offset
        for try await (start, chunkEnd, data) in rows.decode((Int, Int, ByteBuffer).self) {
            guard out.count < limit else { break }
            let skip = Int(max(0, end - Int64(start)))
            out.append(contentsOf: data.readableBytesView.dropFirst(skip))
            end = Int64(chunkEnd)
        }
        return (out, end)
    }
}
