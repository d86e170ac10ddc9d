import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// What S3 (or GCS, or moto) said when it refused a call, with a hint at the
/// setting to check where the code names one.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let key: String
    public let status: Int
    /// S3's error code (`SignatureDoesNotMatch`, `NoSuchKey`, ...), or `HTTP <status>` without a body.
    public let code: String
    public let message: String

    public var description: String {
        var text = "object storage refused \(operation) '\(key)': \(status) \(code)"
        if !message.isEmpty { text += " (\(message))" }
        if let hint { text += "; \(hint)" }
        return text
    }

    public var hint: String? {
        switch code {
        case "SignatureDoesNotMatch": "the secret does not match the access key: check AWS_SECRET_ACCESS_KEY (and AWS_REGION)"
        case "InvalidAccessKeyId": "the service does not know this key: check AWS_ACCESS_KEY_ID"
        case "ExpiredToken", "InvalidToken": "the temporary credentials ran out: renew AWS_SESSION_TOKEN"
        case "NoSuchBucket": "check S3_BUCKET (or GCS_BUCKET) and AWS_ENDPOINT_URL"
        case "AccessDenied": "the key may not do this: grant s3:\(operation) on the bucket"
        case "AuthorizationHeaderMalformed": "check AWS_REGION: the bucket lives in another region"
        default: nil
        }
    }

    var isNotFound: Bool { status == 404 }
    var isTransient: Bool { status == 429 || status >= 500 || code == "SlowDown" || code == "RequestTimeout" }
}

/// One object as a listing or HEAD shows it.
public struct ObjectInfo: Sendable, Equatable {
    public let key: String
    public let size: Int64
    public let etag: String
    public let metadata: [String: String]
}

/// The S3 REST calls the results need, signed with Signature V4, over
/// AsyncHTTPClient. Every request body is in memory and at most one part
/// long; transient failures (5xx, 429, connection errors) are retried with
/// backoff, since every call here may be repeated safely.
public struct S3Client: Sendable {
    public let configuration: S3Configuration
    let http: HTTPClient
    let signer: SignatureV4
    /// Tries per call (the first and the retries).
    public var attempts = 4
    public var timeout: TimeAmount = .seconds(300)

    public init(configuration: S3Configuration, httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.http = httpClient
        self.signer = SignatureV4(credentials: configuration.credentials, region: configuration.region)
    }

    // MARK: Objects

    /// PUT of a whole object; returns its ETag. `metadata` becomes `x-amz-meta-*`.
    @discardableResult
    public func putObject(key: String, body: [UInt8], contentType: String = "application/octet-stream",
                          metadata: [String: String] = [:]) async throws -> String {
        let headers = [("content-type", contentType)] + metadata.sorted { $0.key < $1.key }.map { ("x-amz-meta-\($0.key)", $0.value) }
        let response = try await send("PutObject", key: key, method: .PUT, headers: headers, body: body)
        return response.headers.first(name: "etag") ?? ""
    }

    /// HEAD; nil when there is no such object.
    public func headObject(key: String) async throws -> ObjectInfo? {
        do {
            let response = try await send("HeadObject", key: key, method: .HEAD)
            return Self.info(key: key, headers: response.headers)
        } catch let error as S3Error where error.isNotFound {
            return nil
        }
    }

    /// GET of an object or of a byte range of it (inclusive, as HTTP's Range),
    /// collected in memory up to `limit` bytes.
    public func getObject(key: String, range: ClosedRange<Int64>? = nil, limit: Int = 64 << 20) async throws -> (ObjectInfo, [UInt8]) {
        let headers = range.map { [("range", "bytes=\($0.lowerBound)-\($0.upperBound)")] } ?? []
        let response = try await send("GetObject", key: key, method: .GET, headers: headers, limit: limit)
        return (Self.info(key: key, headers: response.headers), response.body)
    }

    public func deleteObject(key: String) async throws {
        _ = try await send("DeleteObject", key: key, method: .DELETE)
    }

    /// Every object under `prefix`, following continuation tokens (ListObjectsV2).
    public func listObjects(prefix: String) async throws -> [ObjectInfo] {
        var objects: [ObjectInfo] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let tree = try await sendXML("ListObjectsV2", key: prefix, method: .GET, query: query, onBucket: true)
            for item in tree.all("Contents") {
                objects.append(ObjectInfo(key: item["Key"] ?? "", size: Int64(item["Size"] ?? "") ?? 0,
                                          etag: item["ETag"] ?? "", metadata: [:]))
            }
            token = tree["IsTruncated"] == "true" ? tree["NextContinuationToken"] : nil
        } while token != nil
        return objects
    }

    /// A URL that lets its holder GET (or `method`) the object without
    /// credentials until `expires` seconds after `date`.
    public func presignedURL(key: String, method: String = "GET", expires: Int = 3600, date: Date = Date()) -> URL {
        let place = configuration.location(key: key)
        let query = signer.presignedQuery(method: method, path: place.path, query: [], host: place.host, expires: expires, date: date)
        return URL(string: place.base + place.path + "?" + Self.queryString(query))!
    }

    // MARK: Multipart uploads

    /// Starts a multipart upload; returns its upload id.
    public func createMultipartUpload(key: String, contentType: String = "application/octet-stream",
                                      metadata: [String: String] = [:]) async throws -> String {
        let headers = [("content-type", contentType)] + metadata.sorted { $0.key < $1.key }.map { ("x-amz-meta-\($0.key)", $0.value) }
        let tree = try await sendXML("CreateMultipartUpload", key: key, method: .POST, query: [("uploads", "")], headers: headers)
        guard let id = tree["UploadId"], !id.isEmpty else {
            throw S3Error(operation: "CreateMultipartUpload", key: key, status: 200, code: "MalformedResponse", message: "no UploadId")
        }
        return id
    }

    /// Sends one part (1...10000; every part but the last ≥ 5 MiB); returns its ETag.
    public func uploadPart(key: String, uploadID: String, partNumber: Int, body: [UInt8]) async throws -> String {
        let response = try await send("UploadPart", key: key, method: .PUT,
                                      query: [("partNumber", String(partNumber)), ("uploadId", uploadID)], body: body)
        guard let etag = response.headers.first(name: "etag") else {
            throw S3Error(operation: "UploadPart", key: key, status: 200, code: "MalformedResponse", message: "no ETag for part \(partNumber)")
        }
        return etag
    }

    /// The parts the service holds for an upload (ListParts, all pages).
    /// Throws an S3Error with `NoSuchUpload` once the upload was completed or aborted.
    public func listParts(key: String, uploadID: String) async throws -> [UploadedPart] {
        var parts: [UploadedPart] = []
        var marker: String?
        repeat {
            var query = [("uploadId", uploadID)]
            if let marker { query.append(("part-number-marker", marker)) }
            let tree = try await sendXML("ListParts", key: key, method: .GET, query: query)
            for part in tree.all("Part") {
                guard let number = Int(part["PartNumber"] ?? ""), let size = Int64(part["Size"] ?? "") else { continue }
                parts.append(UploadedPart(number: number, etag: part["ETag"] ?? "", size: size))
            }
            marker = tree["IsTruncated"] == "true" ? tree["NextPartNumberMarker"] : nil
        } while marker != nil
        return parts
    }

    /// Joins the parts into the object, which only now becomes visible.
    public func completeMultipartUpload(key: String, uploadID: String, parts: [UploadedPart]) async throws {
        let body = "<CompleteMultipartUpload>"
            + parts.sorted { $0.number < $1.number }
                .map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\($0.etag.xmlEscaped)</ETag></Part>" }.joined()
            + "</CompleteMultipartUpload>"
        _ = try await sendXML("CompleteMultipartUpload", key: key, method: .POST, query: [("uploadId", uploadID)],
                              headers: [("content-type", "application/xml")], body: Array(body.utf8))
    }

    public func abortMultipartUpload(key: String, uploadID: String) async throws {
        _ = try await send("AbortMultipartUpload", key: key, method: .DELETE, query: [("uploadId", uploadID)])
    }

    // MARK: Transport

    struct Response {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]
    }

    /// A call whose answer is an XML document. S3 may answer 200 with an
    /// `<Error>` document (CompleteMultipartUpload does): that is a failure too.
    func sendXML(_ operation: String, key: String, method: HTTPMethod, query: [(String, String)] = [],
                 headers: [(String, String)] = [], body: [UInt8] = [], onBucket: Bool = false) async throws -> XMLTree {
        let response = try await send(operation, key: key, method: method, query: query, headers: headers, body: body, onBucket: onBucket)
        guard let tree = XMLTree.parse(Data(response.body)) else {
            throw S3Error(operation: operation, key: key, status: response.status, code: "MalformedResponse",
                          message: String(decoding: response.body.prefix(200), as: UTF8.self))
        }
        if tree.name == "Error" {
            throw S3Error(operation: operation, key: key, status: response.status, code: tree["Code"] ?? "Error", message: tree["Message"] ?? "")
        }
        return tree
    }

    /// Signs and sends one request, retrying transient failures; a status
    /// ≥ 300 becomes an S3Error carrying S3's code and message.
    func send(_ operation: String, key: String, method: HTTPMethod, query: [(String, String)] = [],
              headers: [(String, String)] = [], body: [UInt8] = [], onBucket: Bool = false,
              limit: Int = 16 << 20) async throws -> Response {
        var delay: Duration = .milliseconds(200)
        for attempt in 1...attempts {
            do {
                return try await sendOnce(operation, key: key, method: method, query: query, headers: headers,
                                          body: body, onBucket: onBucket, limit: limit)
            } catch let error as S3Error where error.isTransient && attempt < attempts {
                try await Task.sleep(for: delay)
            } catch let error as S3Error {
                throw error
            } catch where attempt < attempts && !(error is CancellationError) {
                try await Task.sleep(for: delay)  // connection refused or reset, timeouts
            }
            delay *= 2
        }
        fatalError("unreachable: the last attempt returns or throws")
    }

    func sendOnce(_ operation: String, key: String, method: HTTPMethod, query: [(String, String)],
                  headers: [(String, String)], body: [UInt8], onBucket: Bool, limit: Int) async throws -> Response {
        let place = configuration.location(key: onBucket ? "" : key)
        let payloadHash = body.isEmpty ? SignatureV4.emptyPayloadHash : SHA256.hash(data: body).hexString
        let all = [("host", place.host)] + headers
        let signed = signer.authorizationHeaders(method: method.rawValue, path: place.path, query: query,
                                                 headers: all, payloadHash: payloadHash, date: Date())
        let queryText = query.isEmpty ? "" : "?" + Self.queryString(query)
        var request = HTTPClientRequest(url: place.base + place.path + queryText)
        request.method = method
        for (name, value) in all + signed { request.headers.add(name: name, value: value) }
        if !body.isEmpty || method == .PUT || method == .POST {
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await http.execute(request, timeout: timeout)
        let data = method == .HEAD ? ByteBuffer() : try await response.body.collect(upTo: limit)
        let bytes = Array(data.readableBytesView)
        let status = Int(response.status.code)
        guard status < 300 else {
            let tree = XMLTree.parse(Data(bytes))
            throw S3Error(operation: operation, key: key, status: status,
                          code: tree?["Code"] ?? "HTTP \(status)", message: tree?["Message"] ?? "")
        }
        return Response(status: status, headers: response.headers, body: bytes)
    }

    static func queryString(_ query: [(String, String)]) -> String {
        query.map { "\(SignatureV4.uriEncode($0.0))=\(SignatureV4.uriEncode($0.1))" }.joined(separator: "&")
    }

    static func info(key: String, headers: HTTPHeaders) -> ObjectInfo {
        var metadata: [String: String] = [:]
        for (name, value) in headers where name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(name.lowercased().dropFirst("x-amz-meta-".count))] = value
        }
        let size = headers.first(name: "content-range").flatMap { $0.split(separator: "/").last.flatMap { Int64($0) } }
            ?? Int64(headers.first(name: "content-length") ?? "") ?? 0
        return ObjectInfo(key: key, size: size, etag: headers.first(name: "etag") ?? "", metadata: metadata)
    }
}
