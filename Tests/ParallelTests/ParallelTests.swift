import Testing
import TestSupport
@testable import Parallel

/// The collectives under real mpirun with 2 and 3 ranks (3 oversubscribes
/// the 2 cores), through `g4sim check mpi`, which compares each result with
/// what every rank can compute alone.
@Suite struct MultiRank {
    @Test(arguments: [1, 2, 3])
    func collectivesAgreeWithClosedForms(ranks: Int) throws {
        let result = try ProcessRunner.mpirun(ranks: ranks, ["check", "mpi"])
        #expect(result.succeeded, "\(result.combined)")
        #expect(result.stdout.contains("\(ranks) ranks, 10 checks, 0 failures on all ranks"), "\(result.stdout)")
        #expect(!result.stdout.contains("FAIL"))
    }
}

/// The distributed FFT through `g4sim check fft`: a single Fourier mode and a round
/// trip, on slabs split over 1-3 ranks (an odd grid split unevenly on 2).
@Suite struct DistributedFFTChecks {
    @Test(arguments: [(1, 24), (2, 24), (3, 24), (2, 15)])
    func transformsMatchClosedForms(ranks: Int, n: Int) throws {
        let result = try ProcessRunner.mpirun(ranks: ranks, ["check", "fft", "--n", String(n)])
        #expect(result.succeeded, "\(result.combined)")
        #expect(result.stdout.contains("\(ranks) ranks, n = \(n), 0 failures"), "\(result.stdout)")
    }

    /// The transform gives the same bits on 1, 2 and 3 ranks (uneven slabs
    /// included): the solver's rank independence rests on it.
    @Test func transformsAreBitIdenticalOnAnyRankCount() throws {
        let fingerprints = try [1, 2, 3].map { ranks in
            let result = try ProcessRunner.mpirun(ranks: ranks, ["check", "fft", "--n", "25"])
            try #require(result.succeeded, "\(result.combined)")
            return try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("forward transform fingerprint") })
        }
        #expect(Set(fingerprints).count == 1, "\(fingerprints)")
    }
}

/// A singleton world (no mpirun), as unit tests of the solver will run.
@Suite struct Singleton {
    @Test func worldOfOne() { InProcessMPI.run {
        let world = Communicator.world
        #expect(world.size == 1 && world.rank == 0)
        #expect(world.allreduce(3.5, .sum) == 3.5)
        #expect(world.exclusiveScan(7) == 0)
        #expect(world.allgatherv([1, 2, 3]) == [1, 2, 3])
        #expect(world.alltoallv([9, 8], sendCounts: [2]) == [9, 8])
        #expect(world.broadcast("x") == "x")
    } }

    @Test func displacementsAreRunningSums() {
        #expect(Communicator.displacements(of: [3, 0, 2, 5]) == [0, 3, 3, 5])
    }
}
