import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Yams

/// Where the API server is and how to prove who we are: in a pod, the
/// service account's token and CA; outside, a kubeconfig's current context.
public struct KubernetesCredentials: Sendable {
    public enum Token: Sendable {
        case value(String)
        /// Re-read on every request: projected service-account tokens rotate.
        case file(String)
    }
    public var server: URL
    public var namespace: String
    public var token: Token?
    /// PEM of the CA that signed the API server's certificate (nil: the system's roots).
    public var certificateAuthority: [UInt8]?
    public var clientCertificate: [UInt8]?
    public var clientKey: [UInt8]?

    public init(server: URL, namespace: String, token: Token? = nil, certificateAuthority: [UInt8]? = nil,
                clientCertificate: [UInt8]? = nil, clientKey: [UInt8]? = nil) {
        self.server = server
        self.namespace = namespace
        self.token = token
        self.certificateAuthority = certificateAuthority
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
    }

    public static let serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The pod's own service account (KUBERNETES_SERVICE_HOST/PORT, token, ca.crt, namespace).
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                                 directory: String = serviceAccount) throws -> KubernetesCredentials {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw KubernetesConfigurationError("not in a pod (KUBERNETES_SERVICE_HOST/PORT unset); set KUBECONFIG for out-of-cluster use")
        }
        let bracketed = host.contains(":") ? "[\(host)]" : host
        guard let server = URL(string: "https://\(bracketed):\(port)") else {
            throw KubernetesConfigurationError("KUBERNETES_SERVICE_HOST/PORT do not form a URL: \(host):\(port)")
        }
        guard let ca = FileManager.default.contents(atPath: directory + "/ca.crt") else {
            throw KubernetesConfigurationError("cannot read the service account's CA \(directory)/ca.crt")
        }
        let namespace = (try? String(contentsOfFile: directory + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "default"
        return KubernetesCredentials(server: server, namespace: namespace, token: .file(directory + "/token"),
                                     certificateAuthority: Array(ca))
    }

    /// The current (or named) context of a kubeconfig: server, CA, and a
    /// token or client certificate, inline (`*-data`) or as files relative to
    /// the kubeconfig. Exec and auth-provider plugins are not supported.
    public static func kubeconfig(at path: String, context wanted: String? = nil) throws -> KubernetesCredentials {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw KubernetesConfigurationError("cannot read the kubeconfig \(path)")
        }
        guard let root = try? Yams.load(yaml: text) as? [String: Any] else {
            throw KubernetesConfigurationError("the kubeconfig \(path) is not a YAML mapping")
        }
        func named(_ list: String, _ name: String, _ key: String) throws -> [String: Any] {
            let items = root[list] as? [[String: Any]] ?? []
            guard let entry = items.first(where: { $0["name"] as? String == name })?[key] as? [String: Any] else {
                throw KubernetesConfigurationError("the kubeconfig \(path) has no \(key) named \(name)")
            }
            return entry
        }
        guard let contextName = wanted ?? root["current-context"] as? String else {
            throw KubernetesConfigurationError("the kubeconfig \(path) has no current-context")
        }
        let context = try named("contexts", contextName, "context")
        guard let clusterName = context["cluster"] as? String else {
            throw KubernetesConfigurationError("context \(contextName) in \(path) names no cluster")
        }
        let cluster = try named("clusters", clusterName, "cluster")
        let user = try (context["user"] as? String).map { try named("users", $0, "user") } ?? [:]
        guard let serverText = cluster["server"] as? String, let server = URL(string: serverText), server.scheme == "https" else {
            throw KubernetesConfigurationError("cluster \(clusterName) in \(path) needs an https server URL")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func material(_ entry: [String: Any], _ key: String) throws -> [UInt8]? {
            if let data = entry[key + "-data"] as? String {
                guard let bytes = Data(base64Encoded: data) else {
                    throw KubernetesConfigurationError("\(key)-data in \(path) is not base64")
                }
                return Array(bytes)
            }
            guard let file = entry[key] as? String else { return nil }
            let url = file.hasPrefix("/") ? URL(fileURLWithPath: file) : base.appendingPathComponent(file)
            guard let bytes = FileManager.default.contents(atPath: url.path) else {
                throw KubernetesConfigurationError("cannot read \(key) \(url.path) named in \(path)")
            }
            return Array(bytes)
        }
        if user["exec"] != nil || user["auth-provider"] != nil {
            throw KubernetesConfigurationError("user of context \(contextName) in \(path) uses an exec or auth-provider plugin; use a token or a client certificate")
        }
        var token: Token?
        if let t = user["token"] as? String { token = .value(t) } else if let f = user["tokenFile"] as? String { token = .file(f) }
        return KubernetesCredentials(server: server, namespace: context["namespace"] as? String ?? "default", token: token,
                                     certificateAuthority: try material(cluster, "certificate-authority"),
                                     clientCertificate: try material(user, "client-certificate"),
                                     clientKey: try material(user, "client-key"))
    }
}

public struct KubernetesConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The Kubernetes REST API over HTTPS (AsyncHTTPClient), with the
/// credentials' CA as the only trust root when one is given.
public final class KubernetesAPI: KubernetesClient {
    public let namespace: String
    let credentials: KubernetesCredentials
    let http: HTTPClient
    let timeout: TimeAmount

    public init(_ credentials: KubernetesCredentials, timeout: TimeAmount = .seconds(30)) throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = credentials.certificateAuthority {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if let cert = credentials.clientCertificate, let key = credentials.clientKey {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw KubernetesConfigurationError("the Kubernetes credentials' certificates do not load: \(error)")
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: timeout)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.credentials = credentials
        self.namespace = credentials.namespace
        self.timeout = timeout
    }

    /// Not syncShutdown: the last reference may go on an event loop (the
    /// service's shutdown), where a blocking shutdown is a fatal error.
    deinit { http.shutdown { _ in } }

    var jobsPath: String { "/apis/batch/v1/namespaces/\(namespace)/jobs" }
    var podsPath: String { "/api/v1/namespaces/\(namespace)/pods" }

    public func createJob(_ manifest: Data) async throws(KubernetesError) {
        let (status, body) = try await send(.POST, jobsPath, body: manifest)
        if status == 409 { throw .alreadyExists }
        try Self.check(status, body)
    }

    public func jobs(labelSelector: String) async throws(KubernetesError) -> [KubeJob] {
        try await list(jobsPath, labelSelector: labelSelector)
    }

    public func pods(labelSelector: String) async throws(KubernetesError) -> [KubePod] {
        try await list(podsPath, labelSelector: labelSelector)
    }

    public func deleteJob(named name: String) async throws(KubernetesError) {
        let body = Data(#"{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}"#.utf8)
        let (status, answer) = try await send(.DELETE, jobsPath + "/" + name, body: body)
        if status == 404 { return }
        try Self.check(status, answer)
    }

    public func podLog(named name: String, container: String, tailLines: Int) async throws(KubernetesError) -> String {
        let (status, body) = try await send(.GET, podsPath + "/\(name)/log", query: ["container": container, "tailLines": String(tailLines)])
        try Self.check(status, body)
        return String(decoding: body, as: UTF8.self)
    }

    func list<Item: Decodable>(_ path: String, labelSelector: String) async throws(KubernetesError) -> [Item] {
        let (status, body) = try await send(.GET, path, query: ["labelSelector": labelSelector])
        try Self.check(status, body)
        do {
            return try JSONDecoder().decode(KubeList<Item>.self, from: body).items
        } catch {
            throw .unavailable("cannot decode the list from \(path): \(error)")
        }
    }

    /// 5xx and 429 are the server's trouble (retry); other 4xx are refusals, with the Status message.
    static func check(_ status: Int, _ body: Data) throws(KubernetesError) {
        guard !(200..<300).contains(status) else { return }
        let message = (try? JSONDecoder().decode(StatusMessage.self, from: body))?.message
            ?? String(decoding: body.prefix(500), as: UTF8.self)
        if status >= 500 || status == 429 { throw .unavailable("HTTP \(status): \(message)") }
        throw .refused(status: status, message: message)
    }

    struct StatusMessage: Decodable { var message: String? }

    func send(_ method: HTTPMethod, _ path: String, query: [String: String] = [:], body: Data? = nil) async throws(KubernetesError) -> (Int, Data) {
        var components = URLComponents(url: credentials.server, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = components.percentEncodedPath.trimmingSuffix("/") + path
        if !query.isEmpty { components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        guard let url = components.url?.absoluteString else { throw .unavailable("cannot form a URL for \(path)") }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        do {
            if let token = try bearerToken() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            let response = try await http.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), Data(buffer: bytes))
        } catch {
            throw .unavailable("\(method) \(path): \(error)")
        }
    }

    func bearerToken() throws -> String? {
        switch credentials.token {
        case nil: return nil
        case .value(let t): return t
        case .file(let path):
            guard let t = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw KubernetesConfigurationError("cannot read the token file \(path)")
            }
            return t.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
