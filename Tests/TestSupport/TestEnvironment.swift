import Foundation
import Parallel

/// Where tests find the package, the built products, the shared reference
/// data, Python (with h5py and the reference codes) and mpirun.
public enum TestEnvironment {
    /// The package root (this file is Tests/TestSupport/TestEnvironment.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// ../shared/reference beside the clone.
    public static let reference = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference")

    /// The folder holding the built executables (beside the test bundle).
    public static var productsDirectory: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("g4sim").path) {
            url.deleteLastPathComponent()
        }
        if url.path == "/" {  // swift-testing's runner may not be argv[0]; fall back to the default build folder
            return packageRoot.appendingPathComponent(".build/debug")
        }
        return url
    }

    /// The g4sim under test: G4SIM (scripts/test.sh points it at the release
    /// build, since full simulations in a debug build take hours), else the
    /// one built beside the tests.
    public static var g4sim: String {
        if let path = ProcessInfo.processInfo.environment["G4SIM"], !path.isEmpty { return path }
        return productsDirectory.appendingPathComponent("g4sim").path
    }

    /// The Python of the test virtualenv that scripts/test.sh creates (G4_PYTHON overrides).
    public static var python: String {
        if let p = ProcessInfo.processInfo.environment["G4_PYTHON"], !p.isEmpty { return p }
        return packageRoot.appendingPathComponent(".build/test-venv/bin/python").path
    }

    /// A fresh empty directory for one test, removed by the caller if wanted.
    public static func temporaryDirectory(_ label: String) -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("g4test-\(label)-\(UUID().uuidString.prefix(8))")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// The outcome of running a program to completion.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public var succeeded: Bool { status == 0 }
    public var combined: String { stdout + stderr }
}

public enum ProcessRunner {
    /// Starts `process` with no signals blocked. The test runner's threads
    /// block SIGTERM, SIGUSR1 and others, and a child inherits the mask of
    /// the thread that spawns it: mpirun would then never see (or forward)
    /// the signals that the tests send to stop a run.
    static func launch(_ process: Process) throws {
        var none = sigset_t(), previous = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try process.run()
    }

    /// Runs `executable` with `arguments`, feeding `input` on stdin; waits for it.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], input: Data? = nil,
                           directory: URL? = nil, environment: [String: String] = [:]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        // A test process that initialised MPI itself (a singleton) carries Open MPI's
        // per-process variables; a child mpirun must not inherit them.
        var env = ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") || key.hasPrefix("OPAL_") || key.hasPrefix("ORTE_"))
        }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        // Files, not pipes: a test that initialises MPI in this process forks Open MPI's
        // singleton daemon, which inherits every descriptor open at that moment and
        // lives as long as this process. A pipe it inherits never reaches end-of-file,
        // and a reader waiting for that hangs the whole test run (seen once).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("g4run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outFile = scratch.appendingPathComponent("stdout"), errFile = scratch.appendingPathComponent("stderr")
        let inFile = scratch.appendingPathComponent("stdin")
        for (file, contents) in [(outFile, Data()), (errFile, Data()), (inFile, input ?? Data())] {
            guard FileManager.default.createFile(atPath: file.path, contents: contents) else {
                throw TestSetupError("cannot create \(file.path)")
            }
        }
        let out = try FileHandle(forWritingTo: outFile), err = try FileHandle(forWritingTo: errFile)
        let inp = try FileHandle(forReadingFrom: inFile)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try launch(process)
        process.waitUntilExit()
        for handle in [out, err, inp] { try? handle.close() }
        return ProcessResult(status: process.terminationStatus,
                             stdout: String(decoding: try Data(contentsOf: outFile), as: UTF8.self),
                             stderr: String(decoding: try Data(contentsOf: errFile), as: UTF8.self))
    }

    /// Runs a Python script of the test suite with the test virtualenv's Python.
    public static func python(_ script: URL, _ arguments: [String] = [], input: Data? = nil) throws -> ProcessResult {
        guard FileManager.default.isExecutableFile(atPath: TestEnvironment.python) else {
            throw TestSetupError("no Python at \(TestEnvironment.python); run scripts/test.sh, which creates the test virtualenv")
        }
        return try run(TestEnvironment.python, [script.path] + arguments, input: input)
    }

    /// Runs g4sim under `mpirun -np ranks` (as root where needed, oversubscribing 2 cores).
    public static func mpirun(ranks: Int, _ arguments: [String], directory: URL? = nil) throws -> ProcessResult {
        try run("/usr/bin/mpirun", mpirunOptions(ranks: ranks) + [TestEnvironment.g4sim] + arguments, directory: directory)
    }

    /// Sends `signal` to the direct children of `process` (the ranks under mpirun).
    public static func signalChildren(of process: Process, _ signal: Int32) {
        let pid = process.processIdentifier
        let list = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in list.split(separator: " ").compactMap({ pid_t($0) }) { kill(child, signal) }
    }

    /// Starts g4sim under mpirun without waiting; output goes to `log` in `directory`.
    public static func startMPI(ranks: Int, _ arguments: [String], directory: URL, log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mpirun")
        process.arguments = mpirunOptions(ranks: ranks) + [TestEnvironment.g4sim] + arguments
        process.currentDirectoryURL = directory
        process.environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("OMPI_") || key.hasPrefix("PMIX_") || key.hasPrefix("OPAL_") || key.hasPrefix("ORTE_"))
        }
        let url = directory.appendingPathComponent(log)
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        process.standardOutput = handle
        process.standardError = handle
        try launch(process)
        return process
    }

    public static func mpirunOptions(ranks: Int) -> [String] {
        var options = ["-np", String(ranks), "--oversubscribe", "--bind-to", "none"]
        if getuid() == 0 { options.append("--allow-run-as-root") }
        return options
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// In-process MPI for unit tests: a singleton world, initialised once, used
/// by one test at a time (tests run concurrently on several threads).
public enum InProcessMPI {
    private static let lock = NSLock()

    public static func run<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        MPIRuntime.start(anyThread: true)
        return try body()
    }
}
