import Crypto
import Foundation
import Hummingbird
import JobStore

/// API tokens: random, shown once, stored only as their SHA-256.
public enum APIToken {
    /// `g4_` + 43 characters of base64url (32 random bytes).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let b64 = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return "g4_" + b64
    }

    /// Hex SHA-256 (a token's stored form).
    public static func hash<D: DataProtocol>(_ data: D) -> String { hex(SHA256.hash(data: data)) }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Lower-case hex of a digest, with a lookup table (`String(format:)` per
    /// byte cost a third of a cached GET's budget).
    static func hex(_ digest: SHA256.Digest) -> String {
        var out = [UInt8](repeating: 0, count: 2 * SHA256.Digest.byteCount)
        var i = 0
        for b in digest {
            out[i] = hexDigits[Int(b >> 4)]
            out[i + 1] = hexDigits[Int(b & 15)]
            i += 2
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func hash(_ token: String) -> String { hash(Array(token.utf8)) }
}

/// Recently seen token hashes → principal, for a few seconds, so a busy
/// client does not cost a store read per request for its token.
final class TokenCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: (Principal, UInt64)] = [:]
    private let ttl: UInt64

    init(ttlSeconds: Double) { ttl = UInt64(ttlSeconds * 1e9) }

    func get(_ hash: String) -> Principal? {
        let now = DispatchTime.now().uptimeNanoseconds
        return lock.withLock {
            guard let (p, expiry) = entries[hash], expiry > now else { return nil }
            return p
        }
    }

    func put(_ hash: String, _ p: Principal) {
        let expiry = DispatchTime.now().uptimeNanoseconds + ttl
        lock.withLock {
            if entries.count > 10_000 { entries.removeAll() }
            entries[hash] = (p, expiry)
        }
    }
}

/// Bearer tokens on every endpoint but /health, /metrics and /openapi.yaml
/// (a portal discovers the API before it holds credentials).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    let store: any JobRepository
    let cache: TokenCache

    static let open: Set<String> = ["/health", "/metrics", "/openapi.yaml"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if Self.open.contains(path) || Dashboard.isPage(path) { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw unauthorized("missing Authorization: Bearer <token>")
        }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.count <= 256 else { throw unauthorized("invalid token") }
        let hash = APIToken.hash(Array(token.utf8))
        var principal = cache.get(hash)
        if principal == nil {
            principal = try await store.principal(tokenHash: hash)
            if let principal { cache.put(hash, principal) }
        }
        guard let principal else { throw unauthorized("invalid token") }
        var context = context
        context.principal = principal
        return try await next(request, context)
    }

    func unauthorized(_ message: String) -> APIError {
        var e = APIError(.unauthorized, field: "Authorization", message)
        e.headers[.wwwAuthenticate] = "Bearer"
        return e
    }
}

/// CORS for the configured origins only (no wildcard): preflights are
/// answered before authentication, other responses get the allow header.
struct OriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowed: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], allowed.contains(origin) else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: origin, .vary: "Origin",
                .accessControlAllowMethods: "GET, POST, DELETE, OPTIONS",
                .accessControlAllowHeaders: "Authorization, Content-Type, Idempotency-Key, Range",
                .accessControlMaxAge: "600",
            ])
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.vary] = "Origin"
        response.headers[.accessControlExposeHeaders] = "Location, Content-Range, Idempotent-Replayed"
        return response
    }
}
