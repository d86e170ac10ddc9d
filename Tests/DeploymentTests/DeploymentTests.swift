import Foundation
import ServiceTestSupport
import TestSupport
import Testing

/// k8s/ and docker/ checked the way the README says they are kept correct:
/// each overlay rendered by `kubectl kustomize` and every object validated
/// against the strict Kubernetes 1.31 schemas in ../shared/k8s-schemas/
/// (k8s_check.py, with jsonschema from the test venv); the Dockerfiles
/// against the build context and the libraries the binaries link (docker/check.py).
@Suite struct DeploymentTests {
    static let root = Products.packageRoot

    static func onPath(_ name: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
            .map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func overlaysRenderToValidMinimalManifests() throws {
        let kubectl = try #require(Self.onPath("kubectl"), "kubectl is missing: scripts/setup.sh --with-test-python installs it")
        let schemas = Self.root.deletingLastPathComponent().appendingPathComponent("shared/k8s-schemas/v1.31.6-standalone-strict")
        let result = try ProcessRunner.run(Products.python, [Self.root.appendingPathComponent("Tests/DeploymentTests/k8s_check.py").path,
                                                    Self.root.path, schemas.path, kubectl])
        #expect(result.succeeded, "\(result.combined)")
        #expect(result.combined.contains("beta: ") && result.combined.contains("stable: "), "\(result.combined)")
    }

    @Test func dockerfilesMatchTheContextAndTheLinkedLibraries() throws {
        let result = try ProcessRunner.run(Self.onPath("python3") ?? Products.python,
                                  [Self.root.appendingPathComponent("docker/check.py").path, "--binaries", Products.directory.path])
        #expect(result.succeeded, "\(result.combined)")
        for product in ["g4api", "g4sync", "g4sim"] {
            #expect(result.combined.contains(": \(product) links "), "\(result.combined)")
        }
    }
}
