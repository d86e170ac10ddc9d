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

    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "jobs and tokens",
            sqlite: [
                """
                CREATE TABLE jobs (
                  seq INTEGER PRIMARY KEY AUTOINCREMENT,
                  id TEXT NOT NULL UNIQUE,
                  owner TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, simulator_type TEXT NOT NULL,
                  num_particles INTEGER NOT NULL, box_size REAL NOT NULL,
                  ranks INTEGER NOT NULL, nodes INTEGER NOT NULL, wall_clock_limit INTEGER NOT NULL, memory_mb INTEGER NOT NULL,
                  backend TEXT NOT NULL, state TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0,
                  cancel_requested INTEGER NOT NULL DEFAULT 0,
                  scheduler_job_id TEXT, exit_code INTEGER, error_message TEXT, backend_data TEXT,
                  idempotency_key TEXT, request_hash TEXT, attempts INTEGER NOT NULL DEFAULT 0,
                  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                  submitted_at INTEGER, started_at INTEGER, finished_at INTEGER,
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
                  token_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, is_admin INTEGER NOT NULL, created_at INTEGER NOT NULL
                )
                """,
            ],
            postgres: [
                """
                CREATE TABLE jobs (
                  seq BIGSERIAL PRIMARY KEY,
                  id TEXT NOT NULL UNIQUE,
                  owner TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, simulator_type TEXT NOT NULL,
                  num_particles BIGINT NOT NULL, box_size DOUBLE PRECISION NOT NULL,
                  ranks BIGINT NOT NULL, nodes BIGINT NOT NULL, wall_clock_limit BIGINT NOT NULL, memory_mb BIGINT NOT NULL,
                  backend TEXT NOT NULL, state TEXT NOT NULL, progress DOUBLE PRECISION NOT NULL DEFAULT 0,
                  cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
                  scheduler_job_id TEXT, exit_code BIGINT, error_message TEXT, backend_data TEXT,
                  idempotency_key TEXT, request_hash TEXT, attempts BIGINT NOT NULL DEFAULT 0,
                  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                  submitted_at BIGINT, started_at BIGINT, finished_at BIGINT,
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
                  token_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, is_admin BOOLEAN NOT NULL, created_at BIGINT NOT NULL
                )
                """,
            ]),
    ]

    /// Column order of every job SELECT; readers decode by position.
    static let columns = """
        id, owner, name, description, simulator_type, num_particles, box_size, parameters, parameter_file, output_list, \
        ranks, nodes, wall_clock_limit, memory_mb, backend, state, progress, cancel_requested, scheduler_job_id, exit_code, \
        error_message, backend_data, idempotency_key, request_hash, attempts, created_at, updated_at, submitted_at, \
        started_at, finished_at, request_parameters
        """
    /// The same, without the three large texts that listings never show.
    /// (Large texts are stored last in a row, so the small columns are read
    /// without walking overflow pages.)
    static let listColumns = columns.replacingOccurrences(of: "parameters, parameter_file, output_list", with: "'' AS p, '' AS pf, '' AS ol")

    static let insertColumns = columns
    static let insertPlaceholders = (1...31).map { _ in "?" }.joined(separator: ", ")
}

