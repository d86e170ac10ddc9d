import Foundation
import ServiceTestSupport
import Testing

/// k8s/ and docker/ checked the way the README says they are kept correct:
/// each overlay rendered by `kubectl kustomize` and every object validated
/// against the strict Kubernetes 1.31 schemas in ../shared/k8s-schemas/
/// (k8s_check.py, with jsonschema from the test venv); the Dockerfiles
/// against the build context and the libraries the binaries link (docker/check.py).
@Suite struct DeploymentTests {
    static let root = Products.packageRoot

    static func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func onPath(_ name: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func overlaysRenderToValidMinimalManifests() throws {
        let kubectl = try #require(Self.onPath("kubectl"), "kubectl is missing: scripts/setup.sh --with-test-python installs it")
        let schemas = Self.root.deletingLastPathComponent().appendingPathComponent("shared/k8s-schemas/v1.31.6-standalone-strict")
        let result = try Self.run(Products.python, [Self.root.appendingPathComponent("Tests/DeploymentTests/k8s_check.py").path,
                                                    Self.root.path, schemas.path, kubectl])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("beta: ") && result.output.contains("stable: "), "\(result.output)")
    }

    @Test func dockerfilesMatchTheContextAndTheLinkedLibraries() throws {
        let result = try Self.run(Self.onPath("python3") ?? Products.python,
                                  [Self.root.appendingPathComponent("docker/check.py").path, "--binaries", Products.directory.path])
        #expect(result.status == 0, "\(result.output)")
        for product in ["g4api", "g4sync", "g4sim"] {
            #expect(result.output.contains(": \(product) links "), "\(result.output)")
        }
    }
}
