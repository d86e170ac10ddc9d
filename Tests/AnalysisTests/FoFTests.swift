import Foundation
import Testing
import TestSupport

/// Friends-of-friends through `g4sim fof`, checked by an independent
/// reader and an O(N²) implementation in fof_check.py.
@Suite struct FriendsOfFriendsGroups {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fof_check.py")
    static let reference = TestEnvironment.reference.appendingPathComponent("N32")

    struct Verdict: Decodable { let same: Bool; let expected: Int?; let found: Int?; let sorted: Bool?; let ours: Int?; let gadget: Int? }

    func python(_ arguments: [String]) throws -> Verdict {
        let result = try ProcessRunner.python(Self.script, arguments)
        try #require(result.succeeded, "\(result.stderr)")
        return try JSONDecoder().decode(Verdict.self, from: Data(result.stdout.utf8))
    }

    /// On GADGET-4's own z = 0 snapshot, on 1-3 ranks: the same 77 groups
    /// with exactly the same member particles as GADGET-4's catalogue.
    @Test(arguments: [1, 2, 3])
    func gadgetsSnapshotGivesGadgetsGroups(ranks: Int) throws {
        let dir = TestEnvironment.temporaryDirectory("fof-g4")
        let catalogue = dir.appendingPathComponent("fof_tab_000.hdf5").path
        let ordered = dir.appendingPathComponent("ordered.hdf5").path
        let run = try ProcessRunner.mpirun(ranks: ranks, ["fof", Self.reference.appendingPathComponent("gadget4_snapshot_z0.hdf5").path,
                                                          "--output", catalogue, "--ordered-snapshot", ordered])
        try #require(run.succeeded, "\(run.combined)")
        #expect(run.stdout.contains("wrote 77 groups (8994 particles)"))
        let verdict = try python(["gadget", catalogue, ordered, Self.reference.appendingPathComponent("gadget4_fof_tab_z0.hdf5").path,
                                  Self.reference.appendingPathComponent("gadget4_snapshot_z0.hdf5").path])
        #expect(verdict.same && verdict.ours == 77 && verdict.gadget == 77)
    }

    /// Clustered random sets (clumps across the periodic edges, linking
    /// length 0.2, groups down to 2 particles): the parallel FoF on 1-3 ranks
    /// equals the O(N²) one exactly, and the catalogue is ordered by length.
    @Test(arguments: [(1, 11), (2, 12), (3, 13), (3, 14)])
    func parallelEqualsBruteForce(ranks: Int, seed: Int) throws {
        let dir = TestEnvironment.temporaryDirectory("fof-brute")
        let snapshot = dir.appendingPathComponent("clumps.hdf5").path
        let made = try ProcessRunner.python(Self.script, ["clumps", snapshot, "3000", String(seed)])
        try #require(made.succeeded, "\(made.stderr)")
        let catalogue = dir.appendingPathComponent("fof.hdf5").path
        let ordered = dir.appendingPathComponent("ordered.hdf5").path
        let run = try ProcessRunner.mpirun(ranks: ranks, ["fof", snapshot, "--minimum-length", "2", "--output", catalogue,
                                                          "--ordered-snapshot", ordered])
        try #require(run.succeeded, "\(run.combined)")
        let verdict = try python(["brute", ordered, catalogue, "0.2", "2"])
        #expect(verdict.same, "expected \(verdict.expected ?? -1) groups, found \(verdict.found ?? -1)")
        #expect(verdict.sorted == true)
        #expect((verdict.expected ?? 0) > 20)
    }
}
