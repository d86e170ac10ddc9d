import Foundation

/// Where the service tests find the built executables and a scratch folder.
public enum Products {
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The folder with the built executables (beside the test bundle).
    public static var directory: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("g4api").path) {
            url.deleteLastPathComponent()
        }
        return url.path == "/" ? packageRoot.appendingPathComponent(".build/debug") : url
    }

    /// G4SIM (scripts/test.sh points it at the release build), else the one built beside the tests.
    public static var g4sim: String {
        if let p = ProcessInfo.processInfo.environment["G4SIM"], !p.isEmpty { return p }
        return directory.appendingPathComponent("g4sim").path
    }

    public static var g4api: String { directory.appendingPathComponent("g4api").path }

    public static var python: String {
        if let p = ProcessInfo.processInfo.environment["G4_PYTHON"], !p.isEmpty { return p }
        return packageRoot.appendingPathComponent(".build/test-venv/bin/python").path
    }

    public static func scratch(_ label: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("g4svc-\(label)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A stand-in solver for tests about the service itself (not the physics):
    /// records each run in RUNS_LOG, writes a progress file and exits 0
    /// after `seconds` (or when signalled, with 75 as g4sim does).
    public static func fakeSolver(in directory: URL, seconds: Double = 0.2) throws -> String {
        let path = directory.appendingPathComponent("fake-g4sim").path
        let script = """
            #!/bin/sh
            # usage as g4sim: fake-g4sim run param.txt [--restart]
            echo "$(basename "$PWD") $$" >> "${RUNS_LOG:-/dev/null}"
            mkdir -p output
            trap 'echo stopped; exit 75' TERM
            echo '{"state":"running","step":1,"scale_factor":0.5,"redshift":1,"fraction_done":0.5,"elapsed_seconds":0.1,"eta_seconds":0.1,"particles_per_second":1,"last_snapshot":null,"updated":"now"}' > output/progress.json
            echo "fake g4sim running"
            sleep \(seconds) &
            wait $!
            echo "snapshot" > output/snapshot_000.hdf5
            echo "fake g4sim done"
            exit 0
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }
}
