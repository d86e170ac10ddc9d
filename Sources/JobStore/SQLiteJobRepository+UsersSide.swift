import Foundation
import GRDB
import Jobs

extension SQLiteJobRepository {
    // MARK: Uploads

    static let uploadColumns = "id, owner, kind, format, file_name, size, sha256, path, summary, created_at"

    public func insertUpload(_ u: Upload) async throws {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO uploads (\(Self.uploadColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [u.id, u.owner, u.kind.rawValue, u.format?.rawValue, u.fileName, u.size, u.sha256, u.path,
                                       u.summaryJSON, u.createdAt])
        }
    }

    public func upload(id: String, owner: String?) async throws -> Upload? {
        try readNow { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.uploadColumns) FROM uploads WHERE id = ?", arguments: [id]),
                  let upload = Self.decodeUpload(row) else { return nil }
            if let owner, upload.owner != owner { return nil }
            return upload
        }
    }

    public func uploads(owner: String?, limit: Int) async throws -> [Upload] {
        try readNow { db in
            let rows = owner == nil
                ? try Row.fetchAll(db, sql: "SELECT \(Self.uploadColumns) FROM uploads ORDER BY created_at DESC LIMIT ?", arguments: [limit])
                : try Row.fetchAll(db, sql: "SELECT \(Self.uploadColumns) FROM uploads WHERE owner = ? ORDER BY created_at DESC LIMIT ?",
                                   arguments: [owner, limit])
            return rows.compactMap(Self.decodeUpload)
        }
    }

    static func decodeUpload(_ row: Row) -> Upload? {
        guard let kind = InputKind(rawValue: row[2]) else { return nil }
        return Upload(id: row[0], owner: row[1], kind: kind, format: (row[3] as String?).flatMap(InitialConditionsFormat.init(rawValue:)),
                      fileName: row[4], size: row[5], sha256: row[6], path: row[7], summaryJSON: row[8], createdAt: row[9])
    }

    // MARK: Sweeps

    static let sweepColumns = "id, owner, name, points, vary, created_at"

    public func insertSweep(_ sweep: Sweep, jobs: [Job]) async throws -> [Job] {
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO sweeps (\(Self.sweepColumns)) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [sweep.id, sweep.owner, sweep.name, sweep.points, sweep.varyJSON, sweep.createdAt])
            let insert = try db.cachedStatement(sql: "INSERT INTO jobs (\(Schema.insertColumns)) VALUES (\(Schema.insertPlaceholders))")
            var stored: [Job] = []
            var last = Int64(0)
            for var job in jobs {
                let now = max(Clock.microseconds(), last + 1)  // point order is creation order
                last = now
                job.createdAt = now
                job.updatedAt = now
                try insert.execute(arguments: Self.arguments(job))
                stored.append(job)
            }
            return stored
        }
    }

    public func sweep(id: String, owner: String?) async throws -> Sweep? {
        try readNow { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.sweepColumns) FROM sweeps WHERE id = ?", arguments: [id]) else { return nil }
            let sweep = Self.decodeSweep(row)
            if let owner, sweep.owner != owner { return nil }
            return sweep
        }
    }

    public func sweeps(owner: String?, limit: Int) async throws -> [Sweep] {
        try readNow { db in
            let rows = owner == nil
                ? try Row.fetchAll(db, sql: "SELECT \(Self.sweepColumns) FROM sweeps ORDER BY created_at DESC LIMIT ?", arguments: [limit])
                : try Row.fetchAll(db, sql: "SELECT \(Self.sweepColumns) FROM sweeps WHERE owner = ? ORDER BY created_at DESC LIMIT ?",
                                   arguments: [owner, limit])
            return rows.map(Self.decodeSweep)
        }
    }

    public func jobs(inSweep id: String) async throws -> [Job] {
        try readNow { db in
            try Row.fetchAll(db, sql: "SELECT \(Schema.listColumns) FROM jobs WHERE sweep_id = ? ORDER BY created_at, id", arguments: [id])
                .map(Self.decode)
        }
    }

    static func decodeSweep(_ row: Row) -> Sweep {
        Sweep(id: row[0], owner: row[1], name: row[2], points: row[3], varyJSON: row[4], createdAt: row[5])
    }
}
