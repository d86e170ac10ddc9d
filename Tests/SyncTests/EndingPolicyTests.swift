import Jobs
import Scheduling
import Sync
import Testing

/// The ending → transition table, case by case: every backend's endings go
/// through this one function.
struct EndingPolicyTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        var ending: RunEnding
        var restartFiles = false
        /// Earlier attempts' endings: (kind, counts against the limit).
        var earlier: [(RunEnding.Kind, Bool)] = []
        var cancelRequested = false
        var memoryMB = 1800
        var peakMemoryMB: Double?
        let expected: EndingPolicy.Decision
        var chargeable = true
        var testDescription: String { name }
    }

    static let policy = EndingPolicy(maxAttempts: 5, maxFreeResubmissions: 3, memoryGrowth: 1.5, peakHeadroom: 1.25, maxMemoryMB: 4000)
    static func e(_ kind: RunEnding.Kind, _ detail: String, exit: Int? = nil) -> RunEnding { RunEnding(kind, exitCode: exit, detail: detail) }
    static let four = Array(repeating: (RunEnding.Kind.timeLimit, true), count: 4)

    static let cases: [Case] = [
        Case(name: "completed", ending: e(.completed, "COMPLETED", exit: 0), expected: .complete),
        Case(name: "exit 75 with restart files resumes", ending: e(.resumeMe, "exit 75", exit: 75), restartFiles: true,
             expected: .resubmit(memoryMB: nil, reason: "stopped early to be resumed (exit 75); resuming from its restart files")),
        Case(name: "exit 75 without restart files fails", ending: e(.resumeMe, "exit 75", exit: 75),
             expected: .fail("stopped early to be resumed (exit 75), but left no restart files")),
        Case(name: "time limit with restart files resumes", ending: e(.timeLimit, "TIMEOUT"), restartFiles: true,
             expected: .resubmit(memoryMB: nil, reason: "reached its wall-clock limit of 60 s (TIMEOUT); resuming from its restart files")),
        Case(name: "time limit without restart files times out", ending: e(.timeLimit, "TIMEOUT"),
             expected: .timeOut("reached its wall-clock limit of 60 s (TIMEOUT) before writing restart files")),
        Case(name: "time limit on the last allowed attempt times out", ending: e(.timeLimit, "TIMEOUT"), restartFiles: true, earlier: four,
             expected: .timeOut("reached its wall-clock limit of 60 s (TIMEOUT) on its last allowed attempt (5); restart files are in output/restartfiles")),
        Case(name: "preemption is not the job's fault", ending: e(.preempted, "PREEMPTED"), restartFiles: true, earlier: four,
             expected: .resubmit(memoryMB: nil, reason: "was preempted (PREEMPTED), not the job's fault; resuming from its restart files"),
             chargeable: false),
        Case(name: "node failure without restart files starts again", ending: e(.nodeFailure, "NODE_FAIL"),
             earlier: [(.preempted, false), (.nodeFailure, false)],
             expected: .resubmit(memoryMB: nil, reason: "lost a node (NODE_FAIL), not the job's fault; starting again"), chargeable: false),
        Case(name: "free resubmissions are bounded too", ending: e(.bootFailure, "BOOT_FAIL"),
             earlier: [(.preempted, false), (.nodeFailure, false), (.preempted, false)],
             expected: .fail("could not boot its nodes (BOOT_FAIL) 4 times; giving up"), chargeable: false),
        Case(name: "out of memory retries once with 1.5x", ending: e(.outOfMemory, "OUT_OF_MEMORY"),
             expected: .resubmit(memoryMB: 2700, reason: "ran out of memory with 1800 MB per rank (OUT_OF_MEMORY); starting again with 2700 MB")),
        Case(name: "out of memory follows the measured peak", ending: e(.outOfMemory, "OUT_OF_MEMORY"), restartFiles: true, peakMemoryMB: 3000,
             expected: .resubmit(memoryMB: 3750, reason: "ran out of memory with 1800 MB per rank (OUT_OF_MEMORY); resuming from its restart files with 3750 MB")),
        Case(name: "out of memory is capped", ending: e(.outOfMemory, "OUT_OF_MEMORY"), memoryMB: 3000, peakMemoryMB: 9000,
             expected: .resubmit(memoryMB: 4000, reason: "ran out of memory with 3000 MB per rank (OUT_OF_MEMORY); starting again with 4000 MB")),
        Case(name: "out of memory at the cap fails", ending: e(.outOfMemory, "OUT_OF_MEMORY"), memoryMB: 4000,
             expected: .fail("ran out of memory with 4000 MB per rank, the most allowed (OUT_OF_MEMORY)")),
        Case(name: "out of memory twice fails", ending: e(.outOfMemory, "OUT_OF_MEMORY"), earlier: [(.outOfMemory, true)], memoryMB: 2700,
             expected: .fail("ran out of memory again with 2700 MB per rank (OUT_OF_MEMORY)")),
        Case(name: "a failure fails with the exit status", ending: e(.failed, "FAILED with exit code 1", exit: 1),
             expected: .fail("g4sim exited with status 1; see the job's logs")),
        Case(name: "cancelled by someone else fails", ending: e(.cancelled, "CANCELLED by 0"),
             expected: .fail("cancelled outside g4, by an administrator or the scheduler (CANCELLED by 0)")),
        Case(name: "a requested cancel wins over any ending", ending: e(.resumeMe, "exit 75", exit: 75), restartFiles: true,
             cancelRequested: true, expected: .cancel("cancelled by its owner")),
        Case(name: "deadline times out", ending: e(.deadline, "DEADLINE"), expected: .timeOut("could not run before its deadline (DEADLINE)")),
        Case(name: "lost fails", ending: e(.lost, "in neither squeue nor sacct"), expected: .fail("the run was lost: in neither squeue nor sacct")),
    ]

    @Test(arguments: cases)
    func decides(_ c: Case) throws {
        var job = Job(owner: "alice", spec: try TestSpec.spec(), backend: .slurm)
        job.resources.memoryMB = c.memoryMB
        job.cancelRequested = c.cancelRequested
        var history = c.earlier.enumerated().map { i, earlier in
            JobAttempt(jobID: job.id, number: i + 1, backend: .slurm, schedulerJobID: "\(100 + i)", resumed: i > 0, memoryMB: 1800,
                       why: "", submittedAt: 0, ending: AttemptEnding(endedAt: 1, kind: earlier.0.rawValue, exitCode: nil, reason: "",
                                                                      chargeable: earlier.1))
        }
        job.attempts = history.count + 1
        history.append(JobAttempt(jobID: job.id, number: job.attempts, backend: .slurm, schedulerJobID: "200", resumed: false,
                                  memoryMB: c.memoryMB, why: "", submittedAt: 0))
        let verdict = Self.policy.decide(c.ending, job: job, history: history, restartFiles: c.restartFiles, peakMemoryMB: c.peakMemoryMB)
        #expect(verdict.decision == c.expected)
        #expect(verdict.chargeable == c.chargeable)
    }

    /// Every kind of ending has a row above.
    @Test func everyEndingIsCovered() {
        let covered = Set(Self.cases.map(\.ending.kind))
        #expect(covered == Set(RunEnding.Kind.allCases), "missing: \(Set(RunEnding.Kind.allCases).subtracting(covered))")
    }
}

enum TestSpec {
    static func spec() throws -> JobSpec {
        try JobRequest.validate(try JSONParser.parse(Array(#"{"name": "p", "resources": {"wall_clock_limit": 60}}"#.utf8)))
    }
}
