import Foundation
import Jobs
import PostgresNIO

extension PostgresJobRepository {
    // MARK: Uploads

    public func insertUpload(_ u: Upload) async throws {
        try await client.query(PostgresQuery(
            unsafeSQL: "INSERT INTO uploads (\(SQLiteJobRepository.uploadColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            binds: Self.binds([.text(u.id), .text(u.owner), .text(u.kind.rawValue), .text(u.format?.rawValue), .text(u.fileName),
                               .int(Int(u.size)), .text(u.sha256), .text(u.path), .text(u.summaryJSON), .int(Int(u.createdAt))])))
    }

    public func upload(id: String, owner: String?) async throws -> Upload? {
        let rows = try await client.query(PostgresQuery(
            unsafeSQL: "SELECT \(SQLiteJobRepository.uploadColumns) FROM uploads WHERE id = $1", binds: Self.binds([.text(id)]))).collect()
        guard let row = rows.first, let upload = try Self.decodeUpload(row) else { return nil }
        if let owner, upload.owner != owner { return nil }
        return upload
    }

    public func uploads(owner: String?, limit: Int) async throws -> [Upload] {
        let rows = try await client.query(owner == nil
            ? PostgresQuery(unsafeSQL: "SELECT \(SQLiteJobRepository.uploadColumns) FROM uploads ORDER BY created_at DESC LIMIT $1",
                            binds: Self.binds([.int(limit)]))
            : PostgresQuery(unsafeSQL: "SELECT \(SQLiteJobRepository.uploadColumns) FROM uploads WHERE owner = $1 ORDER BY created_at DESC LIMIT $2",
                            binds: Self.binds([.text(owner), .int(limit)]))).collect()
        return try rows.compactMap(Self.decodeUpload)
    }

    static func decodeUpload(_ row: PostgresRow) throws -> Upload? {
        let r = row.makeRandomAccess()
        guard let kind = InputKind(rawValue: try r[2].decode(String.self)) else { return nil }
        return Upload(id: try r[0].decode(String.self), owner: try r[1].decode(String.self), kind: kind,
                      format: try r[3].decode(String?.self).flatMap(InitialConditionsFormat.init(rawValue:)),
                      fileName: try r[4].decode(String.self), size: Int64(try r[5].decode(Int.self)), sha256: try r[6].decode(String.self),
                      path: try r[7].decode(String.self), summaryJSON: try r[8].decode(String.self),
                      createdAt: Int64(try r[9].decode(Int.self)))
    }

    // MARK: Sweeps

    public func insertSweep(_ sweep: Sweep, jobs: [Job]) async throws -> [Job] {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query(PostgresQuery(
                unsafeSQL: "INSERT INTO sweeps (\(SQLiteJobRepository.sweepColumns)) VALUES ($1, $2, $3, $4, $5, $6)",
                binds: Self.binds([.text(sweep.id), .text(sweep.owner), .text(sweep.name), .int(sweep.points), .text(sweep.varyJSON),
                                   .int(Int(sweep.createdAt))])), logger: self.logger)
            let placeholders = (1...Schema.columnCount).map { "$\($0)" }.joined(separator: ", ")
            var stored: [Job] = []
            var last = Int64(0)
            for var job in jobs {
                let now = max(Clock.microseconds(), last + 1)
                last = now
                job.createdAt = now
                job.updatedAt = now
                try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO jobs (\(Schema.insertColumns)) VALUES (\(placeholders))",
                                                         binds: Self.binds(Self.values(job))), logger: self.logger)
                stored.append(job)
            }
            return stored
        }
    }

    public func sweep(id: String, owner: String?) async throws -> Sweep? {
        let rows = try await client.query(PostgresQuery(
            unsafeSQL: "SELECT \(SQLiteJobRepository.sweepColumns) FROM sweeps WHERE id = $1", binds: Self.binds([.text(id)]))).collect()
        guard let row = rows.first else { return nil }
        let sweep = try Self.decodeSweep(row)
        if let owner, sweep.owner != owner { return nil }
        return sweep
    }

    public func sweeps(owner: String?, limit: Int) async throws -> [Sweep] {
        let rows = try await client.query(owner == nil
            ? PostgresQuery(unsafeSQL: "SELECT \(SQLiteJobRepository.sweepColumns) FROM sweeps ORDER BY created_at DESC LIMIT $1",
                            binds: Self.binds([.int(limit)]))
            : PostgresQuery(unsafeSQL: "SELECT \(SQLiteJobRepository.sweepColumns) FROM sweeps WHERE owner = $1 ORDER BY created_at DESC LIMIT $2",
                            binds: Self.binds([.text(owner), .int(limit)]))).collect()
        return try rows.map(Self.decodeSweep)
    }

    public func jobs(inSweep id: String) async throws -> [Job] {
        let rows = try await client.query(PostgresQuery(
            unsafeSQL: "SELECT \(Schema.listColumns) FROM jobs WHERE sweep_id = $1 ORDER BY created_at, id", binds: Self.binds([.text(id)])))
            .collect()
        return try rows.map(Self.decode)
    }

    static func decodeSweep(_ row: PostgresRow) throws -> Sweep {
        let r = row.makeRandomAccess()
        return Sweep(id: try r[0].decode(String.self), owner: try r[1].decode(String.self), name: try r[2].decode(String.self),
                     points: try r[3].decode(Int.self), varyJSON: try r[4].decode(String.self), createdAt: Int64(try r[5].decode(Int.self)))
    }
}
