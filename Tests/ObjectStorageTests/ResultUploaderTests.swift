import Crypto
import Foundation
import ServiceTestSupport
import Testing
@testable import ObjectStorage

/// A ledger that dies like a killed uploader: it throws on the chosen call,
/// after the service has already acted on it, and keeps what was recorded
/// before (the ledger's durable state at the moment of the crash).
actor CrashingLedger: UploadLedger {
    struct Crash: Error {}
    let inner: InMemoryUploadLedger
    var partsBeforeCrash: Int?
    var crashOnComplete: Bool

    init(inner: InMemoryUploadLedger, partsBeforeCrash: Int? = nil, crashOnComplete: Bool = false) {
        self.inner = inner
        self.partsBeforeCrash = partsBeforeCrash
        self.crashOnComplete = crashOnComplete
    }

    func completedUploads() async throws -> [CompletedUpload] { await inner.completedUploads() }
    func pendingUpload(key: String) async throws -> PendingMultipartUpload? { await inner.pendingUpload(key: key) }
    func recordUploadStarted(key: String, upload: PendingMultipartUpload) async throws {
        await inner.recordUploadStarted(key: key, upload: upload)
    }
    func recordPart(key: String, uploadID: String, part: UploadedPart) async throws {
        if let n = partsBeforeCrash {
            if n == 0 { throw Crash() }
            partsBeforeCrash = n - 1
        }
        await inner.recordPart(key: key, uploadID: uploadID, part: part)
    }
    func recordCompleted(_ upload: CompletedUpload) async throws {
        if crashOnComplete { throw Crash() }
        await inner.recordCompleted(upload)
    }
    func forgetUpload(key: String) async throws { await inner.forgetUpload(key: key) }
}

@Suite struct ResultUploaderTests {
    static let part = ResultUploader.minimumPartSize

    /// Files in a fresh folder: name → bytes.
    func files(_ contents: [String: [UInt8]]) throws -> (URL, [UploadItem], prefix: String) {
        let dir = Products.scratch("upload")
        let prefix = "jobs/\(UUID().uuidString)/"
        var items: [UploadItem] = []
        for (name, bytes) in contents.sorted(by: { $0.key < $1.key }) {
            let url = dir.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            items.append(UploadItem(path: url.path, key: prefix + name))
        }
        return (dir, items, prefix)
    }

    /// SHA-256 by coreutils, not by the code under test.
    func sha256sum(_ path: String) throws -> String {
        String(try PostgresTestServer.run("/usr/bin/sha256sum", [path]).prefix(64))
    }

    /// Part numbers the server received for `key`, in the order received.
    func partsSent(_ server: MotoTestServer.Server, key: String) throws -> [Int] {
        let path = "/\(server.bucket)/" + SignatureV4.uriEncode(key, keepingSlash: true) + "?"
        return try server.requests(containing: "PUT " + path).compactMap { line in
            guard let range = line.range(of: "partNumber=") else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
    }

    func objectRequests(_ server: MotoTestServer.Server, key: String) throws -> [String] {
        try server.requests(containing: "/\(server.bucket)/" + SignatureV4.uriEncode(key, keepingSlash: true))
    }

    @Test func uploadsSmallEmptyAndMultipartFilesOnce() async throws {
        let server = try await MotoTestServer.authenticated.value
        let s3 = try client(server)
        let (_, items, prefix) = try files([
            "empty.txt": [],
            "params-usedvalues": Array("Omega0 0.3\n".utf8),
            "snapshot_000.hdf5": pattern(2 * Self.part + 12_345),
        ])
        let ledger = InMemoryUploadLedger()
        let uploaded = try await ResultUploader(client: s3, ledger: ledger, partSize: Self.part).upload(items)
        #expect(uploaded.map(\.key) == items.map(\.key))
        for (item, done) in zip(items, uploaded) {
            #expect(done.sha256 == (try sha256sum(item.path)))
            let bytes = try await s3.getObject(key: item.key).1
            #expect(SHA256.hash(data: bytes).hexString == done.sha256)  // the bucket holds the file's bytes
            #expect(Int64(bytes.count) == done.size)
        }
        #expect(try partsSent(server, key: items[2].key) == [1, 2, 3])
        #expect(try await s3.listObjects(prefix: prefix).count == 3)

        // Again with the same ledger: nothing is sent.
        let before = try items.map { try objectRequests(server, key: $0.key).count }
        #expect(try await ResultUploader(client: s3, ledger: ledger, partSize: Self.part).upload(items) == uploaded)
        #expect(try items.map { try objectRequests(server, key: $0.key).count } == before)
    }

    @Test func crashMidMultipartResumesWithTheMissingPartsOnly() async throws {
        let server = try await MotoTestServer.authenticated.value
        let s3 = try client(server)
        let (_, items, prefix) = try files(["snapshot_005.hdf5": pattern(3 * Self.part + 1000)])
        let durable = InMemoryUploadLedger()

        // The uploader dies recording part 3, after the server took it.
        let crashing = CrashingLedger(inner: durable, partsBeforeCrash: 2)
        await #expect(throws: CrashingLedger.Crash.self) {
            try await ResultUploader(client: s3, ledger: crashing, partSize: Self.part).upload(items)
        }
        #expect(try partsSent(server, key: items[0].key) == [1, 2, 3])
        #expect(await durable.pending[items[0].key]?.parts.map(\.number) == [1, 2])
        #expect(await durable.completed.isEmpty)
        #expect(try await s3.listObjects(prefix: prefix).isEmpty)  // no partial object is listed

        // Restarted: ListParts shows 1-3, so only part 4 goes up.
        let done = try await ResultUploader(client: s3, ledger: durable, partSize: Self.part).upload(items)
        #expect(try partsSent(server, key: items[0].key) == [1, 2, 3, 4])
        #expect(done.first?.sha256 == (try sha256sum(items[0].path)))
        #expect(SHA256.hash(data: try await s3.getObject(key: items[0].key).1).hexString == done.first?.sha256)
        #expect(await durable.pending.isEmpty)
        #expect(await durable.completed[items[0].key] == done.first)
    }

    @Test func crashAfterTheServiceCompletedSendsNothingAgain() async throws {
        let server = try await MotoTestServer.authenticated.value
        let s3 = try client(server)
        let (_, items, _) = try files(["big.hdf5": pattern(Self.part + 10), "small.txt": pattern(100)])
        let durable = InMemoryUploadLedger()
        for item in items {  // each dies after its object is complete in the bucket, before the ledger knows
            await #expect(throws: CrashingLedger.Crash.self) {
                try await ResultUploader(client: s3, ledger: CrashingLedger(inner: durable, crashOnComplete: true),
                                         partSize: Self.part).upload([item])
            }
        }
        #expect(await durable.completed.isEmpty)
        let before = try items.map { try objectRequests(server, key: $0.key).filter { $0.contains("\"PUT ") || $0.contains("\"POST ") }.count }

        let done = try await ResultUploader(client: s3, ledger: durable, partSize: Self.part).upload(items)
        let after = try items.map { try objectRequests(server, key: $0.key).filter { $0.contains("\"PUT ") || $0.contains("\"POST ") }.count }
        #expect(after == before)  // recognised in the bucket (upload token, SHA-256 metadata): no PUT, no new upload
        for (item, completed) in zip(items, done) {
            #expect(completed.sha256 == (try sha256sum(item.path)))
        }
        #expect(await durable.completed.count == 2)
    }

    @Test func aPartThatChangedIsSentAgain() async throws {
        let server = try await MotoTestServer.authenticated.value
        let s3 = try client(server)
        var bytes = pattern(2 * Self.part + 5)
        let (_, items, _) = try files(["snap.hdf5": bytes])
        let durable = InMemoryUploadLedger()
        await #expect(throws: CrashingLedger.Crash.self) {
            try await ResultUploader(client: s3, ledger: CrashingLedger(inner: durable, partsBeforeCrash: 1), partSize: Self.part).upload(items)
        }
        // The file is rewritten in its first part before the restart: the held part 1 no longer matches (ETag = MD5).
        bytes[17] ^= 0xff
        try Data(bytes).write(to: URL(fileURLWithPath: items[0].path))
        _ = try await ResultUploader(client: s3, ledger: durable, partSize: Self.part).upload(items)
        #expect(try partsSent(server, key: items[0].key) == [1, 2, 1, 3])
        #expect(SHA256.hash(data: try await s3.getObject(key: items[0].key).1) == SHA256.hash(data: bytes))
    }
}
