import Foundation
import Hummingbird
import Jobs
import NIOCore

/// Every refusal the API gives: a status and `{"error": {"field", "message", "status"}}`.
public struct APIError: HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let field: String?
    public let message: String
    /// Every problem, when there are several (a parameter file's `file:line` diagnostics).
    public var details: [String] = []
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, field: String? = nil, _ message: String) {
        self.status = status
        self.field = field
        self.message = message
    }

    public init(_ validation: ValidationError) {
        self.init(.unprocessableContent, field: validation.field, validation.message)
        details = validation.details
    }

    public var description: String { "\(status.code) \(field.map { $0 + ": " } ?? "")\(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("error")
        w.beginObject()
        w.field("field", field)
        w.field("message", message)
        w.field("status", Int(status.code))
        if !details.isEmpty {
            w.key("details"); w.beginArray(); for d in details { w.string(d) }; w.endArray()
        }
        w.endObject()
        w.endObject()
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: w.bytes)))
    }

    static func notFound(_ what: String = "job") -> APIError { APIError(.notFound, field: "id", "no such \(what)") }
}

/// Turns every error into a JSON error: Hummingbird's own (404 for unknown
/// routes, 413 for large bodies) into our shape, and anything unexpected
/// into a logged 500 that says nothing internal.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, field: "(body)", "the body exceeds the limit of 1 MiB (upload large files with POST /api/v1/uploads)")
        } catch let error as HTTPError {
            let field: String? = error.status == .notFound ? "(path)" : nil
            throw APIError(error.status, field: field, error.body ?? error.status.reasonPhrase)
        } catch let error as any HTTPResponseError {
            throw APIError(error.status, error.status.reasonPhrase)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw APIError(.internalServerError, "internal error; the request was not carried out")
        }
    }
}
