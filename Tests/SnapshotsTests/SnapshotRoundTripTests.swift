import Foundation
import Testing
import TestSupport

/// g4sim writes snapshots on several MPI ranks; h5py, an independent reader,
/// must see exactly GADGET-4's data and layout.
@Suite(.serialized) struct SnapshotRoundTrip {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("snapshot_check.py")
    static let ic = TestEnvironment.reference.appendingPathComponent("N32/ic_N32.hdf5").path

    struct Report: Decodable {
        let datasets: [String: Bool]
        let header: [String: Bool]
        let dtypes: [String: [String]]
        let layout: [String: Bool]
        let per_file: [Int]
    }

    func compare(_ reference: String, _ outputs: [String]) throws -> Report {
        let result = try ProcessRunner.python(Self.script, ["compare", reference] + outputs)
        #expect(result.succeeded, "\(result.stderr)")
        return try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
    }

    func expectIdentical(_ report: Report, files: Int) {
        for (name, same) in report.datasets { #expect(same, "dataset \(name) differs") }
        for (name, same) in report.header { #expect(same, "header attribute \(name) differs") }
        for (name, same) in report.layout { #expect(same, "\(name) differs from GADGET-4's layout") }
        for (name, types) in report.dtypes { #expect(types[0] == types[1], "\(name) dtype \(types[1]), GADGET-4 wrote \(types[0])") }
        #expect(report.per_file.count == files)
    }

    @Test func twoRanksOneFileIsIdenticalToGadgetsIC() throws {
        let dir = TestEnvironment.temporaryDirectory("snap1")
        let out = dir.appendingPathComponent("ic_copy.hdf5").path
        let run = try ProcessRunner.mpirun(ranks: 2, ["snapshot", "convert", Self.ic, out])
        try #require(run.succeeded, "\(run.combined)")
        expectIdentical(try compare(Self.ic, [out]), files: 1)
    }

    @Test func twoRanksThreeFilesConcatenateToGadgetsIC() throws {
        let dir = TestEnvironment.temporaryDirectory("snap3")
        let base = dir.appendingPathComponent("ic_split").path
        let run = try ProcessRunner.mpirun(ranks: 2, ["snapshot", "convert", Self.ic, base, "--files", "3"])
        try #require(run.succeeded, "\(run.combined)")
        let outs = (0..<3).map { "\(base).\($0).hdf5" }
        let report = try compare(Self.ic, outs)
        expectIdentical(report, files: 3)
        #expect(report.per_file == [10922, 10923, 10923])
        // And back: three ranks read the three files and write one.
        let back = dir.appendingPathComponent("back.hdf5").path
        let again = try ProcessRunner.mpirun(ranks: 3, ["snapshot", "convert", base, back])
        try #require(again.succeeded, "\(again.combined)")
        expectIdentical(try compare(Self.ic, [back]), files: 1)
    }

    /// Two particles on three ranks: one rank has none and must still take
    /// part in every collective call (or the others would hang).
    @Test func rankWithoutParticlesStillJoins() throws {
        let dir = TestEnvironment.temporaryDirectory("tiny")
        let tiny = dir.appendingPathComponent("tiny.hdf5").path
        try #require(try ProcessRunner.python(Self.script, ["tiny", tiny, "2"]).succeeded)
        let out = dir.appendingPathComponent("tiny_out.hdf5").path
        let run = try ProcessRunner.mpirun(ranks: 3, ["snapshot", "convert", tiny, out, "--files", "1"])
        try #require(run.succeeded, "\(run.combined)")
        let report = try compare(tiny, [out])
        for (name, same) in report.datasets { #expect(same, "dataset \(name) differs") }
        #expect(report.header["Time"] == true && report.header["MassTable"] == true)
    }

    /// GADGET format 1 as IC generators write it, in both byte orders,
    /// single and double precision, 32- and 64-bit IDs, one file and several.
    @Test(arguments: [
        ["--files", "1"],
        ["--swap", "--double", "--ids64", "--files", "1"],
        ["--files", "2"],
        ["--swap", "--files", "3"],
    ])
    func format1IsReadExactly(options: [String]) throws {
        let dir = TestEnvironment.temporaryDirectory("f1")
        let binary = dir.appendingPathComponent("ics").path
        let made = try ProcessRunner.python(Self.script, ["format1", Self.ic, binary] + options)
        try #require(made.succeeded, "\(made.stderr)")
        let out = dir.appendingPathComponent("from_format1.hdf5").path
        let run = try ProcessRunner.mpirun(ranks: 2, ["snapshot", "convert", binary, out, "--format", "1"]
                                           + (options.contains("--double") ? ["--double"] : []))
        try #require(run.succeeded, "\(run.combined)")
        let report = try compare(Self.ic, [out])
        #expect(report.datasets["ParticleIDs"] == true)
        if options.contains("--double") {
            // Written as float64 from float32 values: equal in value, wider in type.
            #expect(report.dtypes["Coordinates"]?[1] == "float64")
        } else {
            #expect(report.datasets["Coordinates"] == true)
            #expect(report.datasets["Velocities"] == true)
        }
        #expect(report.header["Time"] == true && report.header["BoxSize"] == true && report.header["MassTable"] == true)
    }

    @Test func missingAndForeignFilesGiveClearErrors() throws {
        let dir = TestEnvironment.temporaryDirectory("bad")
        let missing = try ProcessRunner.mpirun(ranks: 2, ["snapshot", "convert", dir.appendingPathComponent("nope").path, "x.hdf5"])
        #expect(!missing.succeeded)
        #expect(missing.stderr.contains("no snapshot at"))
        let text = dir.appendingPathComponent("text.hdf5")
        try String(repeating: "not hdf5 and not GADGET binary either\n", count: 20).write(to: text, atomically: true, encoding: .utf8)
        let foreign = try ProcessRunner.run(TestEnvironment.g4sim, ["snapshot", "info", text.path])
        #expect(!foreign.succeeded)
        #expect(foreign.stderr.contains("cannot open \(text.path) as HDF5"))
        let notFormat1 = try ProcessRunner.run(TestEnvironment.g4sim, ["snapshot", "convert", text.path, "y.hdf5", "--format", "1"])
        #expect(notFormat1.stderr.contains("not GADGET format 1"))
    }
}
