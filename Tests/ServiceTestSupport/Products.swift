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
    public static var g4sync: String { directory.appendingPathComponent("g4sync").path }

    public static var python: String {
        if let p = ProcessInfo.processInfo.environment["G4_PYTHON"], !p.isEmpty { return p }
        return packageRoot.appendingPathComponent(".build/test-venv/bin/python").path
    }

    public static func scratch(_ label: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("g4svc-\(label)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A stand-in solver for tests about the service itself (not the physics).
    /// As g4sim is run (`fake-g4sim run param.txt [--restart]`, in the job's
    /// directory), it records the run in RUNS_LOG, writes a progress file and
    /// the marker `fake-started`, and exits 0 (75 on SIGTERM or SIGUSR1, as g4sim does).
    /// With `held`, it waits before exiting until the test creates
    /// `fake-release` in the job's directory (`release(_:)`), so "still
    /// running" is a state the test controls, not a race with the clock. A
    /// held run gives up after 15 minutes (exit 124), so a failed test leaves
    /// no process behind for long.
    /// `ignoringSIGTERM`: a solver that does not stop when asked (SIGTERM or SIGUSR1; only SIGKILL ends it).
    public static func fakeSolver(in directory: URL, held: Bool = false, ignoringSIGTERM: Bool = false) throws -> String {
        let name = "fake-g4sim" + (held ? "-held" : "") + (ignoringSIGTERM ? "-stubborn" : "")
        let path = directory.appendingPathComponent(name).path
        let onTerm = ignoringSIGTERM ? "trap '' TERM USR1" : "trap 'echo stopped; exit 75' TERM USR1"
        let script = """
            #!/bin/sh
            echo "$(basename "$PWD") $$" >> "${RUNS_LOG:-/dev/null}"
            mkdir -p output
            \(onTerm)
            echo '{"state":"running","step":1,"scale_factor":0.5,"redshift":1,"fraction_done":0.5,"elapsed_seconds":0.1,"eta_seconds":0.1,"particles_per_second":1,"last_snapshot":null,"updated":"now"}' > output/progress.json
            echo "fake g4sim running"
            : > fake-started
            if [ \(held ? 1 : 0) = 1 ]; then
              polls=0
              while [ ! -e fake-release ]; do
                sleep 0.05 &
                wait $!
                polls=$((polls + 1))
                [ $polls -lt 18000 ] || exit 124
              done
            fi
            echo "snapshot" > output/snapshot_000.hdf5
            echo "fake g4sim done"
            exit 0
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// Whether a fake solver has started in `jobDirectory`.
    public static func fakeStarted(in jobDirectory: URL) -> Bool {
        FileManager.default.fileExists(atPath: jobDirectory.appendingPathComponent("fake-started").path)
    }

    /// Lets a held fake solver in `jobDirectory` finish.
    public static func release(_ jobDirectory: URL) {
        FileManager.default.createFile(atPath: jobDirectory.appendingPathComponent("fake-release").path, contents: nil)
    }
}
