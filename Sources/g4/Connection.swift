import Foundation
import HTTPTypes
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime

/// The generated client, pointed at the configured server with the token
/// sent as a bearer header on every call.
struct Connection {
    let client: Client
    let settings: Settings

    init(_ settings: Settings) throws {
        guard let url = URL(string: settings.url), url.scheme == "http" || url.scheme == "https" else {
            throw CLIError(.usage, "not a server URL: \(settings.url) (expected http://host:port)")
        }
        self.settings = settings
        // The API writes timestamps with microseconds.
        client = Client(serverURL: url, configuration: .init(dateTranscoder: .iso8601WithFractionalSeconds),
                        transport: AsyncHTTPClientTransport(configuration: .init(timeout: .seconds(600))),
                        middlewares: [BearerToken(token: settings.token), Refusals()])
    }

    static func load() throws -> Connection { try Connection(try Settings.load()) }

    /// Runs a call; a connection failure becomes "server unreachable" (exit 5).
    func call<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CLIError {
            throw error
        } catch let error as ClientError {
            if let refusal = error.underlyingError as? CLIError { throw refusal }
            throw CLIError(.server, "\(what): cannot reach \(settings.url): \(error.underlyingError)")
        }
    }
}

struct BearerToken: ClientMiddleware {
    let token: String
    func intercept(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
                   next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = "Bearer \(token)"
        return try await next(request, body, baseURL)
    }
}

/// Turns every refusal (4xx, 5xx) into a CLIError with the API's message, so
/// commands only handle the answers they asked for.
struct Refusals: ClientMiddleware {
    func intercept(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
                   next: (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)) async throws -> (HTTPResponse, HTTPBody?) {
        let (response, responseBody) = try await next(request, body, baseURL)
        let code = response.status.code
        guard code >= 400 else { return (response, responseBody) }
        var bytes: [UInt8] = []
        if let responseBody { bytes = Array(try await Data(collecting: responseBody, upTo: 1 << 20)) }
        throw refusal(code, try? JSONDecoder().decode(Components.Schemas._Error.self, from: Data(bytes)))
    }
}

/// A refusal as the API gives it (`{"error": {...}}`), turned into an exit status and message.
func refusal(_ code: Int, _ error: Components.Schemas._Error?) -> CLIError {
    guard let e = error?.error else { return CLIError.forHTTP(code, "the server answered \(code)") }
    var message = (e.field.map { "\($0): " } ?? "") + e.message
    if let details = e.details, !details.isEmpty { message += "\n" + details.map { "  " + $0 }.joined(separator: "\n") }
    return CLIError.forHTTP(code, message)
}

/// Prints JSON for scripts (`--json`): the generated types encode as the API's own JSON.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    FileHandle.standardOutput.write(try encoder.encode(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}

func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }
func complain(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
