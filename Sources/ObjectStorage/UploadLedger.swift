import Foundation

/// A file fully in the bucket: its key, SHA-256 (hex) and size.
public struct CompletedUpload: Sendable, Equatable, Codable {
    public let key: String
    public let sha256: String
    public let size: Int64

    public init(key: String, sha256: String, size: Int64) {
        self.key = key
        self.sha256 = sha256
        self.size = size
    }
}

/// One part the service acknowledged.
public struct UploadedPart: Sendable, Equatable, Codable {
    public let number: Int
    public let etag: String
    public let size: Int64

    public init(number: Int, etag: String, size: Int64) {
        self.number = number
        self.etag = etag
        self.size = size
    }
}

/// A multipart upload begun and not yet completed.
public struct PendingMultipartUpload: Sendable, Equatable, Codable {
    public let uploadID: String
    /// Part boundaries must stay the same when the upload resumes.
    public let partSize: Int
    /// Sent as `x-amz-meta-g4-upload`: tells an object completed by this
    /// upload (when the uploader died before recording it) from any other.
    public let token: String
    public var parts: [UploadedPart]

    public init(uploadID: String, partSize: Int, token: String, parts: [UploadedPart] = []) {
        self.uploadID = uploadID
        self.partSize = partSize
        self.token = token
        self.parts = parts
    }
}

/// The uploader's durable memory: what is in the bucket and which multipart
/// uploads are under way. Every call must be durable when it returns, so
/// an uploader killed anywhere resumes where its ledger says; the service
/// remains the authority on parts (the uploader asks it with ListParts), the
/// ledger on which files are complete. One ledger per job (keys are unique in it).
public protocol UploadLedger: Sendable {
    /// Files recorded complete.
    func completedUploads() async throws -> [CompletedUpload]
    /// The multipart upload in progress for `key`, if one was recorded.
    func pendingUpload(key: String) async throws -> PendingMultipartUpload?
    /// A multipart upload was created (before any part is sent).
    func recordUploadStarted(key: String, upload: PendingMultipartUpload) async throws
    /// A part was acknowledged by the service.
    func recordPart(key: String, uploadID: String, part: UploadedPart) async throws
    /// The file is complete in the bucket; forgets its pending upload in the same step.
    func recordCompleted(_ upload: CompletedUpload) async throws
    /// The service no longer knows the upload (aborted, expired): start over.
    func forgetUpload(key: String) async throws
}

/// A ledger in memory, for tests and for one-shot uploads where a crash
/// simply means starting again.
public actor InMemoryUploadLedger: UploadLedger {
    public private(set) var completed: [String: CompletedUpload] = [:]
    public private(set) var pending: [String: PendingMultipartUpload] = [:]

    public init() {}

    public func completedUploads() -> [CompletedUpload] { completed.values.sorted { $0.key < $1.key } }
    public func pendingUpload(key: String) -> PendingMultipartUpload? { pending[key] }
    public func recordUploadStarted(key: String, upload: PendingMultipartUpload) { pending[key] = upload }
    public func recordPart(key: String, uploadID: String, part: UploadedPart) {
        guard pending[key]?.uploadID == uploadID else { return }
        pending[key]!.parts.removeAll { $0.number == part.number }
        pending[key]!.parts.append(part)
    }
    public func recordCompleted(_ upload: CompletedUpload) {
        completed[upload.key] = upload
        pending[upload.key] = nil
    }
    public func forgetUpload(key: String) { pending[key] = nil }
}
