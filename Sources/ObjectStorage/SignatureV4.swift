import Crypto
import Foundation

/// Access keys for S3 (or GCS HMAC keys); the session token comes with temporary credentials.
public struct S3Credentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4 for S3, in an Authorization header or in a
/// presigned URL's query. No S3 SDK exists for Swift on Linux in our package
/// set; this is the whole of the algorithm: a canonical request, a string to
/// sign over its SHA-256, and an HMAC chain from the secret down to the day,
/// region and service.
public struct SignatureV4: Sendable {
    public var credentials: S3Credentials
    public var region: String
    public var service: String

    public static let emptyPayloadHash = SHA256.hash(data: [UInt8]()).hexString
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The headers to add to a request: `x-amz-date`, `x-amz-content-sha256`,
    /// `x-amz-security-token` (with temporary credentials) and `authorization`.
    /// `path` is the URI-encoded path as sent; `query` the decoded parameters;
    /// `headers` every other header to sign, `host` among them.
    public func authorizationHeaders(method: String, path: String, query: [(String, String)],
                                     headers: [(String, String)], payloadHash: String,
                                     date: Date) -> [(String, String)] {
        let stamp = Timestamp(date)
        var added = [("x-amz-date", stamp.full), ("x-amz-content-sha256", payloadHash)]
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        let (canonicalHeaders, signedHeaders) = Self.canonicalize(headers: headers + added)
        let request = [method, path, Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash]
            .joined(separator: "\n")
        let signature = sign(canonicalRequest: request, stamp: stamp)
        added.append(("authorization", "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope(stamp)),"
                      + "SignedHeaders=\(signedHeaders),Signature=\(signature)"))
        return added
    }

    /// The query of a presigned URL (the given parameters plus the X-Amz-*
    /// ones), valid for `expires` seconds from `date`. Only `host` is signed,
    /// and the payload is not, so anyone holding the URL may send the request.
    public func presignedQuery(method: String, path: String, query: [(String, String)], host: String,
                               expires: Int, date: Date) -> [(String, String)] {
        let stamp = Timestamp(date)
        var parameters = query + [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(credentials.accessKeyID)/\(scope(stamp))"),
            ("X-Amz-Date", stamp.full),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", "host"),
        ]
        if let token = credentials.sessionToken { parameters.append(("X-Amz-Security-Token", token)) }
        let request = [method, path, Self.canonicalQuery(parameters), "host:\(host)\n", "host", Self.unsignedPayload]
            .joined(separator: "\n")
        parameters.append(("X-Amz-Signature", sign(canonicalRequest: request, stamp: stamp)))
        return parameters
    }

    // MARK: The algorithm

    func scope(_ stamp: Timestamp) -> String { "\(stamp.day)/\(region)/\(service)/aws4_request" }

    func sign(canonicalRequest: String, stamp: Timestamp) -> String {
        let stringToSign = ["AWS4-HMAC-SHA256", stamp.full, scope(stamp),
                            SHA256.hash(data: Array(canonicalRequest.utf8)).hexString].joined(separator: "\n")
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [stamp.day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return Array(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key)).hexString
    }

    /// Lower-case names, values with runs of spaces folded, sorted by name;
    /// and the `;`-joined list of names.
    static func canonicalize(headers: [(String, String)]) -> (String, String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let folded = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            merged[name.lowercased(), default: []].append(folded)
        }
        let names = merged.keys.sorted()
        let lines = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (lines, names.joined(separator: ";"))
    }

    /// Parameters encoded, then sorted by name and value.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        query.map { (uriEncode($0.0), uriEncode($0.1)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// RFC 3986 encoding as S3 wants it: every byte but `A-Z a-z 0-9 - _ . ~`
    /// becomes %XX (upper-case hex); `/` is kept when encoding a path.
    public static func uriEncode(_ text: String, keepingSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// `20130524T000000Z` and `20130524`, in UTC.
    struct Timestamp {
        let full: String
        let day: String

        init(_ date: Date) {
            var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
            var t = tm()
            gmtime_r(&seconds, &t)
            day = String(format: "%04d%02d%02d", Int(t.tm_year) + 1900, Int(t.tm_mon) + 1, Int(t.tm_mday))
            full = day + String(format: "T%02d%02d%02dZ", Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec))
        }
    }
}

extension Sequence where Element == UInt8 {
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}

extension Digest {
    var hexString: String { Array(self).hexString }
}
