import Foundation
import Testing
import TestSupport

/// What a production run must survive: interruption and resumption (also on
/// another number of ranks), bad restart files, a full disk, and what it
/// must report while it runs. Runs start at a = 0.5 from the reference
/// run's own snapshot, to finish in a couple of minutes.
@Suite(.serialized) struct ProductionRun {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("production_check.py")

    /// The second half of the reference run (a = 0.5 → 1) with FoF and power spectra on output.
    static func parameters(outputDir: String = "./output", _ more: [String: String] = [:]) throws -> String {
        try SimulationRuns.n32Parameters([
            "InitCondFile": "./start", "TimeBegin": "0.5", "OutputListOn": "0", "TimeOfFirstSnapshot": "1.0",
            "TimeBetSnapshot": "2.0", "OutputDir": outputDir,
        ].merging(more) { $1 })
    }

    static func startingPoint() throws -> URL {
        URL(fileURLWithPath: try SimulationRuns.reference(ranks: 2).snapshot(1))
    }

    static func uninterrupted() throws -> SimulationRuns.Run {
        try SimulationRuns.shared("late-uninterrupted") {
            try SimulationRuns.run("late-straight", ranks: 2, parameters: try parameters(), links: ["start.hdf5": try startingPoint()])
        }
    }

    /// A run directory with the parameter file and the starting snapshot.
    static func prepare(_ label: String, parameters text: String) throws -> URL {
        let dir = TestEnvironment.temporaryDirectory(label)
        try text.write(to: dir.appendingPathComponent("param.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("start.hdf5"), withDestinationURL: try startingPoint())
        return dir
    }

    /// Starts a run, waits until progress.json reports step ≥ `step`, sends SIGUSR1 and waits for the exit.
    static func interrupt(_ dir: URL, ranks: Int, extra: [String] = [], atStep step: Int, log: String) throws -> Int32 {
        let process = try ProcessRunner.startMPI(ranks: ranks, ["run", "param.txt"] + extra, directory: dir, log: log)
        let progress = dir.appendingPathComponent("output/progress.json")
        while process.isRunning {
            if let data = FileManager.default.contents(atPath: progress.path),
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let now = json["step"] as? Int, now >= step {
                kill(process.processIdentifier, SIGUSR1)  // mpirun forwards it to every rank
                break
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func python(_ arguments: [String]) throws -> [String: Any] {
        let result = try ProcessRunner.python(Self.script, arguments)
        try #require(result.succeeded, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// SIGUSR1 twice at different points, resumed each time: the z = 0
    /// snapshot's particle datasets equal the uninterrupted run's byte for byte.
    @Test func interruptedTwiceGivesTheSameSnapshot() throws {
        let straight = try Self.uninterrupted()
        let dir = try Self.prepare("late-interrupted", parameters: try Self.parameters())
        #expect(try Self.interrupt(dir, ranks: 2, atStep: 150, log: "log1.txt") == 75)
        #expect(try Self.interrupt(dir, ranks: 2, extra: ["--restart"], atStep: 600, log: "log2.txt") == 75)
        let last = try ProcessRunner.mpirun(ranks: 2, ["run", "param.txt", "1"], directory: dir)
        #expect(last.succeeded, "\(last.combined)")
        let logs = try ["log1.txt", "log2.txt"].map { try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8) }
        #expect(logs.allSatisfy { $0.contains("restart files written") })
        #expect(last.stdout.contains("resumed at step"))
        let verdict = try python(["identical", straight.snapshot(0), dir.appendingPathComponent("output/snapshot_000.hdf5").path])
        #expect(verdict["identical"] as? Bool == true, "\(verdict)")
    }

    /// Interrupted on 2 ranks, resumed on 3: the same physics, P(k) within 0.1 %.
    @Test func resumedOnThreeRanksAfterTwo() throws {
        let straight = try Self.uninterrupted()
        let dir = try Self.prepare("late-2to3", parameters: try Self.parameters())
        #expect(try Self.interrupt(dir, ranks: 2, atStep: 300, log: "log1.txt") == 75)
        let rest = try ProcessRunner.mpirun(ranks: 3, ["run", "param.txt", "--restart"], directory: dir)
        #expect(rest.succeeded, "\(rest.combined)")
        #expect(rest.stdout.contains("on a new number of ranks"))
        let ours = try ReferenceRun.shells(dir.appendingPathComponent("output/snapshot_000.hdf5").path)
        let theirs = try ReferenceRun.shells(straight.snapshot(0))
        for (a, b) in zip(ours, theirs) where a.k <= ReferenceRun.kNyquist * 1.001 {
            print(String(format: "2 -> 3 ranks: k %.3f ratio %.5f", a.k, a.power / b.power))
            #expect(abs(a.power / b.power - 1) < 0.001, "k = \(a.k): \(a.power / b.power)")
        }
    }

    /// Missing, corrupted and foreign restart files are refused with a reason.
    @Test func badRestartFilesAreRefused() throws {
        let missing = try Self.prepare("restart-missing", parameters: try Self.parameters())
        let none = try ProcessRunner.mpirun(ranks: 2, ["run", "param.txt", "--restart"], directory: missing)
        #expect(!none.succeeded && none.stderr.contains("cannot resume") && none.stderr.contains("missing"), "\(none.combined)")

        let dir = try Self.prepare("restart-bad", parameters: try Self.parameters())
        #expect(try Self.interrupt(dir, ranks: 2, atStep: 50, log: "log1.txt") == 75)
        // Another box size is another simulation: refused.
        try Self.parameters(["BoxSize": "60.0"]).write(to: dir.appendingPathComponent("other.txt"), atomically: true, encoding: .utf8)
        let foreign = try ProcessRunner.mpirun(ranks: 2, ["run", "other.txt", "--restart"], directory: dir)
        #expect(!foreign.succeeded && foreign.stderr.contains("different parameter file"), "\(foreign.combined)")
        // A corrupted file (no backup set yet): refused, naming the file.
        let file = dir.appendingPathComponent("output/restartfiles/restart.1")
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: file)
        let corrupt = try ProcessRunner.mpirun(ranks: 2, ["run", "param.txt", "--restart"], directory: dir)
        #expect(!corrupt.succeeded && corrupt.stderr.contains("restart.1 is corrupted"), "\(corrupt.combined)")
    }

    /// A disk that fills up during the second output: the run stops with a
    /// message naming the file, and the first output stays complete and readable.
    @Test func fullDiskLeavesEarlierOutputsReadable() throws {
        let dir = try Self.prepare("diskfull", parameters: try Self.parameters(outputDir: "./disk/output", [
            "TimeOfFirstSnapshot": "0.55", "TimeBetSnapshot": "1.05", "TimeMax": "0.65", "FOF": "0", "POWERSPEC_ON_OUTPUT": "0",
        ]))
        let disk = dir.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        // One snapshot is 0.9 MB: room for the first and not the second.
        let mount = try ProcessRunner.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1400k", "tmpfs", disk.path])
        try #require(mount.succeeded, "the test needs to mount a small tmpfs (root): \(mount.combined)")
        defer { _ = try? ProcessRunner.run("/bin/umount", [disk.path]) }
        let run = try ProcessRunner.mpirun(ranks: 2, ["run", "param.txt"], directory: dir)
        #expect(!run.succeeded)
        #expect(run.stderr.contains("snapshot_001.hdf5"), "\(run.combined)")
        let first = try python(["readable", disk.appendingPathComponent("output/snapshot_000.hdf5").path])
        #expect(first["particles"] as? Int == 32768)
        #expect(!FileManager.default.fileExists(atPath: disk.appendingPathComponent("output/snapshot_001.hdf5").path))
    }

    /// An output directory that cannot be made, and a memory limit that is
    /// too small, stop the run at once with a message saying so.
    @Test func unusableSettingsAreReported() throws {
        let dir = try Self.prepare("unwritable", parameters: try Self.parameters(outputDir: "/proc/g4sim-output"))
        let run = try ProcessRunner.mpirun(ranks: 2, ["run", "param.txt"], directory: dir)
        #expect(!run.succeeded && run.stderr.contains("OutputDir /proc/g4sim-output cannot be created"), "\(run.combined)")
        let small = try Self.prepare("maxmem", parameters: try Self.parameters(["MaxMemSize": "20"]))
        let memory = try ProcessRunner.mpirun(ranks: 2, ["run", "param.txt"], directory: small)
        #expect(!memory.succeeded && memory.stderr.contains("more than MaxMemSize (20 MB)") && memory.stderr.contains("rank"),
                "\(memory.combined)")
    }

    /// progress.json describes the run while it runs (fraction rising) and when it ends.
    @Test func progressIsReported() throws {
        let straight = try Self.uninterrupted()
        let data = try Data(contentsOf: straight.output.appendingPathComponent("progress.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["state"] as? String == "finished")
        #expect(json["fraction_done"] as? Double == 1)
        #expect((json["last_snapshot"] as? String)?.hasSuffix("snapshot_000.hdf5") == true)
        let dir = try Self.prepare("progress", parameters: try Self.parameters())
        let process = try ProcessRunner.startMPI(ranks: 2, ["run", "param.txt"], directory: dir, log: "log.txt")
        var seen: [Double] = []
        while process.isRunning && seen.count < 3 {
            if let d = FileManager.default.contents(atPath: dir.appendingPathComponent("output/progress.json").path),
               let j = try? JSONSerialization.jsonObject(with: d) as? [String: Any], let f = j["fraction_done"] as? Double,
               f > (seen.last ?? -1) {
                seen.append(f)
                #expect(j["state"] as? String == "running")
                #expect(j["eta_seconds"] != nil && j["redshift"] != nil && j["particles_per_second"] != nil)
            }
            usleep(200_000)
        }
        // As Slurm's scancel does: every rank gets SIGTERM (mpirun itself, when
        // it is signalled, reports its own status rather than the ranks').
        ProcessRunner.signalChildren(of: process, SIGTERM)
        process.waitUntilExit()
        #expect(seen.count == 3, "progress.json never showed rising progress: \(seen)")
        #expect(process.terminationStatus == 75)
        let timings = try String(contentsOf: straight.output.appendingPathComponent("timings.txt"), encoding: .utf8)
        #expect(timings.split(separator: "\n").count > 100)
    }

    /// pynbody, a widely used independent reader, loads a g4sim snapshot
    /// (as it loads GADGET-4's); h5py opens the catalogue and spectrum too.
    @Test func independentReadersLoadTheOutputs() throws {
        let straight = try Self.uninterrupted()
        let verdict = try python(["pynbody", straight.snapshot(0)])
        #expect(verdict["particles"] as? Int == 32768)
        #expect(verdict["boxsize_ok"] as? Bool == true, "\(verdict)")
        let catalogue = try python(["readable-catalogue", straight.output.appendingPathComponent("fof_tab_000.hdf5").path])
        #expect((catalogue["groups"] as? Int ?? 0) > 50)
        let spectrum = try String(contentsOf: straight.output.appendingPathComponent("powerspecs/powerspec_000.txt"), encoding: .utf8)
        #expect(spectrum.hasPrefix("1\n"))
    }
}
