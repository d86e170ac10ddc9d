import Foundation
import Jobs

/// The schema, as numbered migrations. Both stores apply the same list; each
/// migration has the SQL for SQLite and for PostgreSQL. A store records the
/// versions it applied and runs only the missing ones, in order.
enum Schema {
    struct Migration {
        let version: Int
        let name: String
        let sqlite: [String]
        let postgres: [String]
    }

    /// The column types that differ between the two SQL dialects.
    struct Dialect {
        let serialKey, integer, real, boolean, falseValue, bytes: String
        static let sqlite = Dialect(serialKey: "INTEGER PRIMARY KEY AUTOINCREMENT", integer: "INTEGER", real: "REAL",
                                    boolean: "INTEGER", falseValue: "0", bytes: "BLOB")
        static let postgres = Dialect(serialKey: "BIGSERIAL PRIMARY KEY", integer: "BIGINT", real: "DOUBLE PRECISION",
                                      boolean: "BOOLEAN", falseValue: "FALSE", bytes: "BYTEA")
    }

    static let migrations: [Migration] = [
        Migration(version: 1, name: "jobs and tokens", sqlite: jobsAndTokens(.sqlite), postgres: jobsAndTokens(.postgres)),
        Migration(version: 2, name: "scheduling: claims, attempts, accounting, log chunks, leases",
                  sqlite: scheduling(.sqlite), postgres: scheduling(.postgres)),
        Migration(version: 3, name: "uploads and sweeps", sqlite: uploadsAndSweeps(.sqlite), postgres: uploadsAndSweeps(.postgres)),
    ]

    /// Migration 3: users' uploads, parameter sweeps, and on each job its
    /// sweep (a backend that submits arrays groups by it) and the rewrites of
    /// a submitted parameter file.
    private static func uploadsAndSweeps(_ d: Dialect) -> [String] {
        let int = d.integer
        return [
            "ALTER TABLE jobs ADD COLUMN sweep_id TEXT",
            "ALTER TABLE jobs ADD COLUMN rewrites TEXT NOT NULL DEFAULT '[]'",
            "CREATE INDEX jobs_sweep ON jobs(sweep_id, created_at) WHERE sweep_id IS NOT NULL",
            """
            CREATE TABLE uploads (
              id TEXT PRIMARY KEY, owner TEXT NOT NULL, kind TEXT NOT NULL, format TEXT, file_name TEXT NOT NULL,
              size \(int) NOT NULL, sha256 TEXT NOT NULL, path TEXT NOT NULL, summary TEXT NOT NULL, created_at \(int) NOT NULL
            )
            """,
            "CREATE INDEX uploads_owner_created ON uploads(owner, created_at DESC)",
            """
            CREATE TABLE sweeps (
              id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, points \(int) NOT NULL,
              vary TEXT NOT NULL, created_at \(int) NOT NULL
            )
            """,
            "CREATE INDEX sweeps_owner_created ON sweeps(owner, created_at DESC)",
        ]
    }

    /// Migration 1. Large texts come last in a row, so that reading the small
    /// columns does not walk overflow pages.
    private static func jobsAndTokens(_ d: Dialect) -> [String] {
        let (int, real) = (d.integer, d.real)
        return [
            """
            CREATE TABLE jobs (
              seq \(d.serialKey),
              id TEXT NOT NULL UNIQUE,
              owner TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, simulator_type TEXT NOT NULL,
              num_particles \(int) NOT NULL, box_size \(real) NOT NULL,
              ranks \(int) NOT NULL, nodes \(int) NOT NULL, wall_clock_limit \(int) NOT NULL, memory_mb \(int) NOT NULL,
              backend TEXT NOT NULL, state TEXT NOT NULL, progress \(real) NOT NULL DEFAULT 0,
              cancel_requested \(d.boolean) NOT NULL DEFAULT \(d.falseValue),
              scheduler_job_id TEXT, exit_code \(int), error_message TEXT, backend_data TEXT,
              idempotency_key TEXT, request_hash TEXT, attempts \(int) NOT NULL DEFAULT 0,
              created_at \(int) NOT NULL, updated_at \(int) NOT NULL,
              submitted_at \(int), started_at \(int), finished_at \(int),
              request_parameters TEXT NOT NULL,
              parameters TEXT NOT NULL, parameter_file TEXT NOT NULL, output_list TEXT NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX jobs_owner_idempotency ON jobs(owner, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "CREATE INDEX jobs_created ON jobs(created_at DESC, id DESC)",
            "CREATE INDEX jobs_owner_created ON jobs(owner, created_at DESC, id DESC)",
            "CREATE INDEX jobs_state_created ON jobs(state, created_at DESC, id DESC)",
            """
            CREATE TABLE api_tokens (
              token_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, is_admin \(d.boolean) NOT NULL, created_at \(int) NOT NULL
            )
            """,
        ]
    }

    /// Migration 2: what the sync loops need.
    /// - jobs: the scheduler placement; the solver's last progress report; a
    ///   submission claim (`claimed_by` until `claimed_until`, so that one of
    ///   several submitters hands a job over) with `launching_attempt`, the
    ///   attempt a claimer started to hand over (a later claimer of the same
    ///   attempt first looks for a run the earlier one may have started), and
    ///   `not_before` (backoff after the scheduler could not take it);
    ///   `may_fall_back` (the request said `auto`).
    /// - job_attempts / job_accounting: the history of submissions, with the
    ///   scheduler's accounting per step.
    /// - log_chunks: stdout/stderr copied into the store by byte offset (a
    ///   chunk is stored only where the stored log ends, so a restarted
    ///   tailer can neither duplicate nor skip bytes).
    /// - sync_leases: one watcher per backend at a time.
    private static func scheduling(_ d: Dialect) -> [String] {
        let int = d.integer
        return [
            "ALTER TABLE jobs ADD COLUMN partition TEXT",
            "ALTER TABLE jobs ADD COLUMN account TEXT",
            "ALTER TABLE jobs ADD COLUMN qos TEXT",
            "ALTER TABLE jobs ADD COLUMN solver_progress TEXT",
            "ALTER TABLE jobs ADD COLUMN claimed_by TEXT",
            "ALTER TABLE jobs ADD COLUMN claimed_until \(int) NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN launching_attempt \(int) NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN not_before \(int) NOT NULL DEFAULT 0",
            "ALTER TABLE jobs ADD COLUMN may_fall_back \(d.boolean) NOT NULL DEFAULT \(d.falseValue)",
            "CREATE INDEX jobs_backend_state ON jobs(backend, state, created_at)",
            """
            CREATE TABLE job_attempts (
              job_id TEXT NOT NULL, attempt \(int) NOT NULL, backend TEXT NOT NULL, scheduler_job_id TEXT,
              resumed \(d.boolean) NOT NULL, memory_mb \(int) NOT NULL, why TEXT NOT NULL,
              submitted_at \(int) NOT NULL, ended_at \(int), ending TEXT, exit_code \(int), reason TEXT,
              chargeable \(d.boolean), accounting_until \(int) NOT NULL DEFAULT 0, script TEXT,
              PRIMARY KEY (job_id, attempt)
            )
            """,
            "CREATE INDEX job_attempts_accounting ON job_attempts(backend, accounting_until)",
            """
            CREATE TABLE job_accounting (
              job_id TEXT NOT NULL, attempt \(int) NOT NULL, step TEXT NOT NULL, state TEXT NOT NULL, exit_code TEXT NOT NULL,
              elapsed_seconds \(int), total_cpu_seconds \(d.real), max_rss_kb \(int), node_list TEXT,
              start_time TEXT, end_time TEXT,
              PRIMARY KEY (job_id, attempt, step)
            )
            """,
            """
            CREATE TABLE log_chunks (
              job_id TEXT NOT NULL, stream TEXT NOT NULL, byte_offset \(int) NOT NULL, byte_end \(int) NOT NULL,
              data \(d.bytes) NOT NULL,
              PRIMARY KEY (job_id, stream, byte_offset)
            )
            """,
            "CREATE TABLE sync_leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at \(int) NOT NULL)",
        ]
    }

    /// Column order of every job SELECT; readers decode by position.
    static let columns = """
        id, owner, name, description, simulator_type, num_particles, box_size, parameters, parameter_file, output_list, \
        ranks, nodes, wall_clock_limit, memory_mb, backend, state, progress, cancel_requested, scheduler_job_id, exit_code, \
        error_message, backend_data, idempotency_key, request_hash, attempts, created_at, updated_at, submitted_at, \
        started_at, finished_at, request_parameters, partition, account, qos, solver_progress, sweep_id, rewrites, may_fall_back
        """
    /// The same, without the three large texts that listings never show.
    /// (Large texts are stored last in a row, so the small columns are read
    /// without walking overflow pages.)
    static let listColumns = columns.replacingOccurrences(of: "parameters, parameter_file, output_list", with: "'' AS p, '' AS pf, '' AS ol")
        .replacingOccurrences(of: "solver_progress", with: "NULL AS sp")
        .replacingOccurrences(of: "sweep_id, rewrites", with: "sweep_id, '[]' AS rw")

    /// `columns` qualified with a table alias (`j.id, j.owner, ...`).
    static func columns(of alias: String) -> String {
        columns.split(separator: ",").map { alias + "." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")
    }

    static let insertColumns = columns
    static let columnCount = columns.split(separator: ",").count
    static let insertPlaceholders = (1...columnCount).map { _ in "?" }.joined(separator: ", ")
}

