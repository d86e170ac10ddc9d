import Jobs
import Scheduling

/// What happens to a job when an attempt ended: one pure function of the
/// ending, the job and its history, the same for every backend, so that a
/// TIMEOUT on Slurm and a deadline on Kubernetes are treated alike. The
/// tests walk its table case by case.
public struct EndingPolicy: Sendable {
    /// Attempts that count against a job (time limits, "resume me" exits,
    /// out-of-memory kills, failures), the first one included.
    public var maxAttempts: Int
    /// Resubmissions after preemption, node or boot failures, which are not
    /// the job's fault and do not count against it, but are bounded all the same.
    public var maxFreeResubmissions: Int
    /// An out-of-memory kill is retried once with at least this factor more memory per rank,
    public var memoryGrowth: Double
    /// and at least this factor above the solver's measured peak, when it reported one,
    public var peakHeadroom: Double
    /// up to this much memory per rank.
    public var maxMemoryMB: Int

    public init(maxAttempts: Int = 5, maxFreeResubmissions: Int = 10, memoryGrowth: Double = 1.5, peakHeadroom: Double = 1.25,
                maxMemoryMB: Int = 1 << 20) {
        self.maxAttempts = maxAttempts
        self.maxFreeResubmissions = maxFreeResubmissions
        self.memoryGrowth = memoryGrowth
        self.peakHeadroom = peakHeadroom
        self.maxMemoryMB = maxMemoryMB
    }

    public enum Decision: Sendable, Equatable {
        case complete
        /// Back to the queue for another attempt (resumed when restart files
        /// exist), with new memory per rank if given.
        case resubmit(memoryMB: Int?, reason: String)
        case timeOut(String)
        case fail(String)
        case cancel(String)
    }

    public struct Verdict: Sendable, Equatable {
        public var decision: Decision
        /// Whether the ended attempt counts against `maxAttempts`.
        public var chargeable: Bool
    }

    /// - Parameters:
    ///   - history: the job's attempts, the ended one included (its ending not recorded yet).
    ///   - restartFiles: whether the job's directory holds restart files now.
    ///   - peakMemoryMB: the solver's largest resident set per rank, if it reported one.
    public func decide(_ ending: RunEnding, job: Job, history: [JobAttempt], restartFiles: Bool,
                       peakMemoryMB: Double?) -> Verdict {
        let earlier = history.filter { $0.number != job.attempts }
        let chargedBefore = earlier.filter { $0.ending?.chargeable ?? true }.count
        let freeBefore = earlier.count - chargedBefore
        let said = ending.detail
        if job.cancelRequested { return Verdict(decision: .cancel("cancelled by its owner"), chargeable: true) }

        /// Another attempt that counts, if the bound allows; `otherwise` if not.
        func charged(_ reason: String, memoryMB: Int? = nil, otherwise: Decision) -> Verdict {
            let decision: Decision = chargedBefore + 1 < maxAttempts ? .resubmit(memoryMB: memoryMB, reason: reason) : otherwise
            return Verdict(decision: decision, chargeable: true)
        }
        func resumedOrAgain() -> String { restartFiles ? "resuming from its restart files" : "starting again" }

        switch ending.kind {
        case .completed:
            return Verdict(decision: .complete, chargeable: true)

        case .resumeMe, .timeLimit:
            let what = ending.kind == .timeLimit ? "reached its wall-clock limit of \(job.resources.wallClockLimit) s (\(said))"
                : "stopped early to be resumed (\(said))"
            guard restartFiles else {
                let decision: Decision = ending.kind == .timeLimit ? .timeOut("\(what) before writing restart files")
                    : .fail("\(what), but left no restart files")
                return Verdict(decision: decision, chargeable: true)
            }
            return charged("\(what); resuming from its restart files",
                           otherwise: .timeOut("\(what) on its last allowed attempt (\(maxAttempts)); restart files are in output/restartfiles"))

        case .preempted, .nodeFailure, .bootFailure:
            let what = ending.kind == .preempted ? "was preempted" : ending.kind == .nodeFailure ? "lost a node" : "could not boot its nodes"
            guard freeBefore < maxFreeResubmissions else {
                return Verdict(decision: .fail("\(what) (\(said)) \(freeBefore + 1) times; giving up"), chargeable: false)
            }
            return Verdict(decision: .resubmit(memoryMB: nil, reason: "\(what) (\(said)), not the job's fault; \(resumedOrAgain())"),
                           chargeable: false)

        case .outOfMemory:
            let current = job.resources.memoryMB
            if earlier.contains(where: { $0.ending?.kind == RunEnding.Kind.outOfMemory.rawValue }) {
                return Verdict(decision: .fail("ran out of memory again with \(current) MB per rank (\(said))"), chargeable: true)
            }
            var wanted = Double(current) * memoryGrowth
            if let peak = peakMemoryMB { wanted = max(wanted, peak * peakHeadroom) }
            let next = min(maxMemoryMB, Int(wanted.rounded(.up)))
            guard next > current else {
                return Verdict(decision: .fail("ran out of memory with \(current) MB per rank, the most allowed (\(said))"),
                               chargeable: true)
            }
            return charged("ran out of memory with \(current) MB per rank (\(said)); \(resumedOrAgain()) with \(next) MB",
                           memoryMB: next,
                           otherwise: .fail("ran out of memory with \(current) MB per rank on its last allowed attempt (\(said))"))

        case .deadline:
            return Verdict(decision: .timeOut("could not run before its deadline (\(said))"), chargeable: true)
        case .cancelled:
            return Verdict(decision: .fail("cancelled outside g4, by an administrator or the scheduler (\(said))"), chargeable: true)
        case .failed:
            let status = ending.exitCode.map { "status \($0)" } ?? said
            return Verdict(decision: .fail("g4sim exited with \(status); see the job's logs"), chargeable: true)
        case .lost:
            return Verdict(decision: .fail("the run was lost: \(said)"), chargeable: true)
        }
    }
}
