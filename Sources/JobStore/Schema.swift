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
        let serialKey, integer, real, boolean, falseValue: String
        static let sqlite = Dialect(serialKey: "INTEGER PRIMARY KEY AUTOINCREMENT", integer: "INTEGER", real: "REAL",
                                    boolean: "INTEGER", falseValue: "0")
        static let postgres = Dialect(serialKey: "BIGSERIAL PRIMARY KEY", integer: "BIGINT", real: "DOUBLE PRECISION",
                                      boolean: "BOOLEAN", falseValue: "FALSE")
    }

    static let migrations: [Migration] = [
        Migration(version: 1, name: "jobs and tokens", sqlite: jobsAndTokens(.sqlite), postgres: jobsAndTokens(.postgres)),
        Migration(version: 2, name: "uploads and sweeps", sqlite: uploadsAndSweeps(.sqlite), postgres: uploadsAndSweeps(.postgres)),
    ]

    /// Migration 2: users' uploads, parameter sweeps, and on each job its
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

    /// Column order of every job SELECT; readers decode by position.
    static let columns = """
        id, owner, name, description, simulator_type, num_particles, box_size, parameters, parameter_file, output_list, \
        ranks, nodes, wall_clock_limit, memory_mb, backend, state, progress, cancel_requested, scheduler_job_id, exit_code, \
        error_message, backend_data, idempotency_key, request_hash, attempts, created_at, updated_at, submitted_at, \
        started_at, finished_at, request_parameters, sweep_id, rewrites
        """
    /// The same, without the three large texts that listings never show.
    /// (Large texts are stored last in a row, so the small columns are read
    /// without walking overflow pages.)
    static let listColumns = columns.replacingOccurrences(of: "parameters, parameter_file, output_list", with: "'' AS p, '' AS pf, '' AS ol")
        .replacingOccurrences(of: "sweep_id, rewrites", with: "sweep_id, '[]' AS rw")

    static let insertColumns = columns
    static let columnCount = 33
    static let insertPlaceholders = (1...columnCount).map { _ in "?" }.joined(separator: ", ")
}

