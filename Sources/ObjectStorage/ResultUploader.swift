import Crypto
import Foundation

/// A local file and the key it goes to.
public struct UploadItem: Sendable, Equatable {
    public let path: String
    public let key: String
    public let contentType: String

    public init(path: String, key: String, contentType: String = "application/octet-stream") {
        self.path = path
        self.key = key
        self.contentType = contentType
    }
}

/// Uploads a job's result files so that a crash costs at most the part in
/// flight: files up to one part go up in one PUT, larger ones as multipart
/// uploads whose parts the ledger records as the service acknowledges them.
/// Each file is read once, a part at a time, and hashed (SHA-256) as it is
/// read; nothing larger than a part is ever in memory. Run again after a
/// crash with the same ledger, it skips completed files, resumes multipart
/// uploads from the parts the service lists (ListParts), and recognises a
/// file that reached the bucket just before the crash (by its recorded
/// SHA-256 or upload token), so no completed file is sent twice. A
/// multipart object appears in listings only once completed, and a PUT is
/// atomic: the bucket never lists a partial file.
public struct ResultUploader: Sendable {
    public static let minimumPartSize = 5 << 20
    public static let maximumParts = 10_000

    public let client: S3Client
    public let ledger: any UploadLedger
    public let partSize: Int

    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let message: String
        public var description: String { "\(path): \(message)" }
    }

    /// `partSize` below S3's 5 MiB minimum is raised to it.
    public init(client: S3Client, ledger: any UploadLedger, partSize: Int = 8 << 20) {
        self.client = client
        self.ledger = ledger
        self.partSize = max(partSize, Self.minimumPartSize)
    }

    /// Uploads every item not yet complete; returns all of them as recorded.
    public func upload(_ items: [UploadItem]) async throws -> [CompletedUpload] {
        let done = Dictionary(try await ledger.completedUploads().map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var results: [CompletedUpload] = []
        for item in items {
            if let finished = done[item.key] {
                results.append(finished)
            } else {
                results.append(try await upload(item))
            }
        }
        return results
    }

    func upload(_ item: UploadItem) async throws -> CompletedUpload {
        let size = try fileSize(item.path)
        if let pending = try await ledger.pendingUpload(key: item.key) {
            return try await resume(item, size: size, pending: pending)
        }
        if size <= Int64(partSize) {
            return try await putWhole(item, size: size)
        }
        return try await multipart(item, size: size, upload: try await start(item, size: size), listed: [:])
    }

    /// One PUT carrying the file's SHA-256 as metadata; skipped when the
    /// bucket already holds exactly this file (sent before a crash).
    func putWhole(_ item: UploadItem, size: Int64) async throws -> CompletedUpload {
        let reader = try PartReader(path: item.path, partSize: partSize)
        let body = try reader.next() ?? []
        let sha256 = SHA256.hash(data: body).hexString
        guard Int64(body.count) == size else { throw Failure(path: item.path, message: "changed size while being read") }
        let present = try await client.headObject(key: item.key)
        if present?.metadata["sha256"] != sha256 || present?.size != size {
            try await client.putObject(key: item.key, body: body, contentType: item.contentType, metadata: ["sha256": sha256])
        }
        let completed = CompletedUpload(key: item.key, sha256: sha256, size: size)
        try await ledger.recordCompleted(completed)
        return completed
    }

    func start(_ item: UploadItem, size: Int64) async throws -> PendingMultipartUpload {
        // Large enough that the file fits in S3's 10,000 parts, in whole MiB.
        let needed = Int((size + Int64(Self.maximumParts) - 1) / Int64(Self.maximumParts))
        let chosen = max(partSize, (needed + (1 << 20) - 1) / (1 << 20) * (1 << 20))
        let token = UUID().uuidString
        let id = try await client.createMultipartUpload(key: item.key, contentType: item.contentType, metadata: ["g4-upload": token])
        let upload = PendingMultipartUpload(uploadID: id, partSize: chosen, token: token)
        try await ledger.recordUploadStarted(key: item.key, upload: upload)
        return upload
    }

    /// A recorded upload: continue it from the parts the service holds; or,
    /// if the service no longer knows it, either it was completed (the
    /// object carries its token) or it is gone and the file starts over.
    func resume(_ item: UploadItem, size: Int64, pending: PendingMultipartUpload) async throws -> CompletedUpload {
        do {
            let listed = try await client.listParts(key: item.key, uploadID: pending.uploadID)
            return try await multipart(item, size: size, upload: pending,
                                       listed: Dictionary(listed.map { ($0.number, $0) }, uniquingKeysWith: { a, _ in a }))
        } catch let error as S3Error where error.code == "NoSuchUpload" {
            if let object = try await client.headObject(key: item.key), object.metadata["g4-upload"] == pending.token, object.size == size {
                let completed = CompletedUpload(key: item.key, sha256: try hashFile(item.path, partSize: pending.partSize), size: size)
                try await ledger.recordCompleted(completed)
                return completed
            }
            try await ledger.forgetUpload(key: item.key)
            return try await upload(item)
        }
    }

    /// Reads the file part by part, hashing all of it and sending the parts
    /// the service does not hold (`listed`), then completes the upload.
    func multipart(_ item: UploadItem, size: Int64, upload: PendingMultipartUpload,
                   listed: [Int: UploadedPart]) async throws -> CompletedUpload {
        let reader = try PartReader(path: item.path, partSize: upload.partSize)
        var hasher = SHA256()
        var parts: [UploadedPart] = []
        var read: Int64 = 0
        var number = 1
        while let chunk = try reader.next() {
            hasher.update(data: chunk)
            read += Int64(chunk.count)
            if let held = listed[number], held.size == Int64(chunk.count), Self.etag(held.etag, matches: chunk) {
                parts.append(held)
            } else {
                let etag = try await client.uploadPart(key: item.key, uploadID: upload.uploadID, partNumber: number, body: chunk)
                let part = UploadedPart(number: number, etag: etag, size: Int64(chunk.count))
                try await ledger.recordPart(key: item.key, uploadID: upload.uploadID, part: part)
                parts.append(part)
            }
            number += 1
        }
        guard read == size else { throw Failure(path: item.path, message: "changed size while being uploaded (\(size) → \(read) bytes)") }
        try await client.completeMultipartUpload(key: item.key, uploadID: upload.uploadID, parts: parts)
        let completed = CompletedUpload(key: item.key, sha256: hasher.finalize().hexString, size: size)
        try await ledger.recordCompleted(completed)
        return completed
    }

    /// A part's ETag is the MD5 of its bytes on S3, GCS and moto (without
    /// SSE-KMS): a part held from an earlier run is reused only if it is
    /// these bytes. An ETag of another form is trusted on its size.
    static func etag(_ etag: String, matches chunk: [UInt8]) -> Bool {
        let hex = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")).lowercased()
        guard hex.count == 32, hex.allSatisfy(\.isHexDigit) else { return true }
        return Insecure.MD5.hash(data: chunk).hexString == hex
    }

    func hashFile(_ path: String, partSize: Int) throws -> String {
        let reader = try PartReader(path: path, partSize: partSize)
        var hasher = SHA256()
        while let chunk = try reader.next() { hasher.update(data: chunk) }
        return hasher.finalize().hexString
    }

    func fileSize(_ path: String) throws -> Int64 {
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            return (attributes[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw Failure(path: path, message: "cannot read: \(error.localizedDescription)")
        }
    }
}

/// Reads a file a part at a time.
final class PartReader {
    let handle: FileHandle
    let partSize: Int
    let path: String

    init(path: String, partSize: Int) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ResultUploader.Failure(path: path, message: "cannot open for reading")
        }
        self.handle = handle
        self.partSize = partSize
        self.path = path
    }

    deinit { try? handle.close() }

    /// The next part, nil at the end (an empty file yields one empty part).
    private var first = true
    func next() throws -> [UInt8]? {
        let data = try handle.read(upToCount: partSize) ?? Data()
        defer { first = false }
        if data.isEmpty && !first { return nil }
        return [UInt8](data)
    }
}
