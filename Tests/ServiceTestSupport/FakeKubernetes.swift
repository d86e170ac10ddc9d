import Foundation
import Scheduling

/// The stand-in Kubernetes API server (Tests/KubernetesTests/fake_kube_api.py):
/// no real API server runs here, so this one checks every Job it is sent
/// against the official strict schemas (../shared/k8s-schemas) and runs the
/// pods' commands as local processes. One per test process, stopped at exit.
public final class FakeKubernetes: Sendable {
    public let directory: URL
    public let port: Int
    public var kubeconfig: String { directory.appendingPathComponent("kubeconfig").path }
    public static let namespace = "g4-test"

    private static let shared = Task<FakeKubernetes, any Error> { try await FakeKubernetes() }
    nonisolated(unsafe) private static var process: ServiceProcess?

    public static func started() async throws -> FakeKubernetes { try await shared.value }

    static var schemas: URL {
        Products.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/k8s-schemas/v1.31.6-standalone-strict")
    }

    init() async throws {
        directory = Products.scratch("fake-kubernetes")
        let script = Products.packageRoot.appendingPathComponent("Tests/KubernetesTests/fake_kube_api.py").path
        let server = ServiceProcess(Products.python, name: "server", directory: directory, environment: [:])
        let log = server.log.path
        try server.launch(arguments: [script, "--dir", directory.path, "--schemas", Self.schemas.path, "--namespace", Self.namespace])
        Self.process = server
        atexit { FakeKubernetes.process?.kill(SIGTERM) }
        let portFile = directory.appendingPathComponent("port")
        var found: Int?
        try await Wait.until("the fake Kubernetes API server to listen (log: \(log))", every: .milliseconds(50)) {
            found = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) }
            return found != nil
        }
        port = found!
    }

    /// A control or inspection call (`/fake/...`), over the fake's TLS with its CA.
    public func control(_ method: String, _ path: String) throws -> Data {
        let result = try CommandRunner.runBlocking(["/usr/bin/curl", "-sS", "-f", "-X", method, "--cacert", directory.appendingPathComponent("ca.crt").path,
                                                    "https://127.0.0.1:\(port)/fake/\(path)"],
                                                   environment: ProcessInfo.processInfo.environment, input: nil, timeout: .seconds(30))
        guard result.succeeded else { throw TestSetupError("fake Kubernetes \(method) \(path): \(result.stderr)") }
        return Data(result.stdout.utf8)
    }

    /// Every API request the fake has answered so far.
    public func requests() throws -> [(method: String, path: String, query: [String: String])] {
        let list = try JSONSerialization.jsonObject(with: control("GET", "requests")) as? [[String: Any]] ?? []
        return list.map { ($0["method"] as? String ?? "", $0["path"] as? String ?? "", $0["query"] as? [String: String] ?? [:]) }
    }

    /// Pids of the pods' containers still running.
    public func runningContainers() throws -> [Int] {
        try JSONSerialization.jsonObject(with: control("GET", "processes")) as? [Int] ?? []
    }

    /// The pods of a g4 job (by its label), from the fake's API as a client sees them.
    public func podNames(jobID: String) throws -> [String] {
        let token = try String(contentsOfFile: kubeconfig, encoding: .utf8).split(separator: "\n")
            .first { $0.contains("token:") }.map { String($0.split(separator: ":").last!).trimmingCharacters(in: .whitespaces) } ?? ""
        let result = try CommandRunner.runBlocking(["/usr/bin/curl", "-sS", "-f", "--cacert", directory.appendingPathComponent("ca.crt").path,
                                                    "-H", "Authorization: Bearer \(token)",
                                                    "https://127.0.0.1:\(port)/api/v1/namespaces/\(Self.namespace)/pods?labelSelector=g4-job-id%3D\(jobID.lowercased())"],
                                                   environment: ProcessInfo.processInfo.environment, input: nil, timeout: .seconds(30))
        guard result.succeeded, let list = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
            throw TestSetupError("listing pods: \(result.stderr)")
        }
        return (list["items"] as? [[String: Any]] ?? []).compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
    }
}
