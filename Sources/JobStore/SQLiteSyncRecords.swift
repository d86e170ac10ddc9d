import Foundation
import GRDB
import Jobs
import RunContract

/// Claims, attempts, accounting, leases and log chunks on SQLite. SQLite has
/// one writer at a time (across processes too), so a read-then-update inside
/// one write transaction is already exclusive.
extension SQLiteJobRepository {
    // MARK: Claims

    public func claimJobs(backend: BackendKind, owner: String, limit: Int, leaseSeconds: Int) async throws -> [ClaimedJob] {
        try await pool.write { db in
            let now = Clock.microseconds()
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(Schema.columns), launching_attempt FROM jobs
                WHERE backend = ? AND state IN ('queued', 'requeued') AND claimed_until < ? AND not_before <= ?
                ORDER BY created_at, id LIMIT ?
                """, arguments: [backend.rawValue, now, now, limit])
            var claimed: [ClaimedJob] = []
            for row in rows {
                let job = try Self.decode(row)
                let launching: Int = row[Schema.columnCount]
                try db.execute(sql: """
                    UPDATE jobs SET claimed_by = ?, claimed_until = ?, launching_attempt = attempts + 1 WHERE id = ?
                    """, arguments: [owner, now + Int64(leaseSeconds) * 1_000_000, job.id])
                claimed.append(ClaimedJob(job: job, mayHaveLaunched: launching == job.attempts + 1))
            }
            return claimed
        }
    }

    public func renewClaim(jobID: String, owner: String, leaseSeconds: Int) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE jobs SET claimed_until = ? WHERE id = ? AND claimed_by = ? AND state IN ('queued', 'requeued')
                """, arguments: [Clock.microseconds() + Int64(leaseSeconds) * 1_000_000, jobID, owner])
            return db.changesCount == 1
        }
    }

    public func releaseClaim(jobID: String, owner: String, notBefore: Int64?) async throws {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE jobs SET claimed_by = NULL, claimed_until = 0, not_before = COALESCE(?, not_before)
                WHERE id = ? AND claimed_by = ?
                """, arguments: [notBefore, jobID, owner])
        }
    }

    public func recordSubmission(_ attempt: JobAttempt, owner: String, backendData: String, memoryMB: Int) async throws -> Job? {
        try await pool.write { db in
            let now = Clock.microseconds()
            try db.execute(sql: """
                UPDATE jobs SET state = 'submitted', updated_at = ?, submitted_at = ?, attempts = attempts + 1,
                  scheduler_job_id = ?, backend_data = ?, memory_mb = ?, claimed_by = NULL, claimed_until = 0
                WHERE id = ? AND state IN ('queued', 'requeued') AND claimed_by = ? AND attempts + 1 = ?
                """, arguments: [now, now, attempt.schedulerJobID, backendData, memoryMB, attempt.jobID, owner, attempt.number])
            guard db.changesCount == 1 else { return nil }
            try db.execute(sql: """
                INSERT INTO job_attempts (job_id, attempt, backend, scheduler_job_id, resumed, memory_mb, why, submitted_at, script)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """, arguments: [attempt.jobID, attempt.number, attempt.backend.rawValue, attempt.schedulerJobID,
                                 attempt.resumed, attempt.memoryMB, attempt.why, now, attempt.script])
            return try Row.fetchOne(db, sql: "SELECT \(Schema.columns) FROM jobs WHERE id = ?", arguments: [attempt.jobID])
                .map(Self.decode)
        }
    }

    public func recordEnding(jobID: String, attempt: Int, transition: Transition, changes: JobChanges, ending: AttemptEnding,
                             accountingUntil: Int64) async throws -> Job? {
        try await pool.write { db in
            try db.execute(sql: """
                UPDATE job_attempts SET ended_at = ?, ending = ?, exit_code = ?, reason = ?, chargeable = ?, accounting_until = ?
                WHERE job_id = ? AND attempt = ? AND ended_at IS NULL
                """, arguments: [ending.endedAt, ending.kind, ending.exitCode, ending.reason, ending.chargeable, accountingUntil,
                                 jobID, attempt])
            return try Self.apply(transition, to: jobID, changes: changes, in: db)
        }
    }

    public func attempts(jobID: String) async throws -> [JobAttempt] {
        try readNow { db in
            var attempts = try Row.fetchAll(db, sql: """
                SELECT job_id, attempt, backend, scheduler_job_id, resumed, memory_mb, why, submitted_at, ended_at, ending,
                  exit_code, reason, chargeable, script
                FROM job_attempts WHERE job_id = ? ORDER BY attempt
                """, arguments: [jobID]).map(Self.decodeAttempt)
            let rows = try Row.fetchAll(db, sql: """
                SELECT attempt, step, state, exit_code, elapsed_seconds, total_cpu_seconds, max_rss_kb, node_list, start_time, end_time
                FROM job_accounting WHERE job_id = ? ORDER BY attempt, step
                """, arguments: [jobID])
            for row in rows {
                let number: Int = row[0]
                guard let i = attempts.firstIndex(where: { $0.number == number }) else { continue }
                attempts[i].accounting.append(AccountingRow(
                    step: row[1], state: row[2], exitCode: row[3], elapsedSeconds: row[4], totalCPUSeconds: row[5],
                    maxRSSKB: row[6], nodeList: row[7], start: row[8], end: row[9]))
            }
            return attempts
        }
    }

    static func decodeAttempt(_ row: Row) throws -> JobAttempt {
        guard let backend = BackendKind(rawValue: row[2]) else {
            throw DatabaseError(message: "attempt of job \(row[0] as String) has an unknown backend")
        }
        var ending: AttemptEnding?
        if let ended: Int64 = row[8] {
            ending = AttemptEnding(endedAt: ended, kind: row[9] ?? "unknown", exitCode: row[10], reason: row[11] ?? "",
                                   chargeable: row[12] ?? true)
        }
        return JobAttempt(jobID: row[0], number: row[1], backend: backend, schedulerJobID: row[3], resumed: row[4],
                          memoryMB: row[5], why: row[6], script: row[13], submittedAt: row[7], ending: ending)
    }

    public func saveAccounting(jobID: String, attempt: Int, rows: [AccountingRow]) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM job_accounting WHERE job_id = ? AND attempt = ?", arguments: [jobID, attempt])
            for r in rows {
                try db.execute(sql: """
                    INSERT INTO job_accounting (job_id, attempt, step, state, exit_code, elapsed_seconds, total_cpu_seconds,
                      max_rss_kb, node_list, start_time, end_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO NOTHING
                    """, arguments: [jobID, attempt, r.step, r.state, r.exitCode, r.elapsedSeconds, r.totalCPUSeconds,
                                     r.maxRSSKB, r.nodeList, r.start, r.end])
            }
        }
    }

    public func attemptsAwaitingAccounting(backend: BackendKind, now: Int64) async throws -> [JobAttempt] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT job_id, attempt, backend, scheduler_job_id, resumed, memory_mb, why, submitted_at, ended_at, ending,
                  exit_code, reason, chargeable, NULL
                FROM job_attempts WHERE backend = ? AND accounting_until > ? ORDER BY submitted_at
                """, arguments: [backend.rawValue, now]).map(Self.decodeAttempt)
        }
    }

    // MARK: Leases

    public func acquireLease(_ name: String, owner: String, seconds: Int) async throws -> Bool {
        try await pool.write { db in
            let now = Clock.microseconds()
            try db.execute(sql: """
                INSERT INTO sync_leases (name, owner, expires_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                WHERE sync_leases.owner = excluded.owner OR sync_leases.expires_at < ?
                """, arguments: [name, owner, now + Int64(seconds) * 1_000_000, now])
            return try String.fetchOne(db, sql: "SELECT owner FROM sync_leases WHERE name = ?", arguments: [name]) == owner
        }
    }

    public func releaseLease(_ name: String, owner: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM sync_leases WHERE name = ? AND owner = ?", arguments: [name, owner])
        }
    }

    // MARK: Logs

    @discardableResult
    public func appendLog(jobID: String, stream: LogStream, offset: Int64, bytes: [UInt8]) async throws -> Bool {
        guard !bytes.isEmpty else { return true }
        return try await pool.write { db in
            let end = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(byte_end), 0) FROM log_chunks WHERE job_id = ? AND stream = ?",
                                         arguments: [jobID, stream.rawValue]) ?? 0
            guard end == offset else { return false }
            try db.execute(sql: "INSERT INTO log_chunks (job_id, stream, byte_offset, byte_end, data) VALUES (?, ?, ?, ?, ?)",
                           arguments: [jobID, stream.rawValue, offset, offset + Int64(bytes.count), Data(bytes)])
            return true
        }
    }

    public func logLength(jobID: String, stream: LogStream) async throws -> Int64 {
        try readNow { db in
            try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(byte_end), 0) FROM log_chunks WHERE job_id = ? AND stream = ?",
                               arguments: [jobID, stream.rawValue]) ?? 0
        }
    }

    public func logBytes(jobID: String, stream: LogStream, from offset: Int64, limit: Int) async throws -> (bytes: [UInt8], end: Int64) {
        try readNow { db in
            let rows = try Row.fetchCursor(db, sql: """
                SELECT byte_offset, byte_end, data FROM log_chunks
                WHERE job_id = ? AND stream = ? AND byte_end > ? ORDER BY byte_offset
                """, arguments: [jobID, stream.rawValue, offset])
            var out: [UInt8] = []
            var end = offset
            while let row = try rows.next(), out.count < limit {
                let start: Int64 = row[0]
                let data: Data = row[2]
                let skip = Int(max(0, end - start))
                out.append(contentsOf: data.dropFirst(skip))
                end = row[1]
            }
            return (out, end)
        }
    }
}
