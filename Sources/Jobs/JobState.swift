/// Where a job is in its life. `requeued` is the one non-terminal step back:
/// a run that stopped early with restart files and waits to be resumed.
public enum JobState: String, Sendable, CaseIterable, Hashable {
    case queued, submitted, running, completed, failed, cancelled
    case timedOut = "timed_out"
    case requeued

    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled, .timedOut: true
        case .queued, .submitted, .running, .requeued: false
        }
    }

    /// The seed API's coarse `status` (five values), kept for existing clients.
    public var status: SeedStatus {
        switch self {
        case .queued, .submitted, .requeued: .pending
        case .running: .running
        case .completed: .completed
        case .failed, .timedOut: .failed
        case .cancelled: .cancelled
        }
    }
}

/// The seed's `status` values.
public enum SeedStatus: String, Sendable, CaseIterable {
    case pending, running, completed, failed, cancelled

    /// The finer states a coarse status filter stands for.
    public var states: [JobState] { JobState.allCases.filter { $0.status == self } }
}

/// A legal change of state. The initialiser is private: the only values that
/// exist are the edges listed here, so code cannot even express an illegal
/// transition. Stores apply one as a compare-and-set
/// (`UPDATE ... WHERE state IN from`), which also makes a transition that lost
/// a race a no-op rather than a wrong state.
public struct Transition: Sendable, Hashable, CustomStringConvertible {
    public let event: String
    public let from: Set<JobState>
    public let to: JobState

    private init(_ event: String, from: Set<JobState>, to: JobState) {
        self.event = event
        self.from = from
        self.to = to
    }

    /// Handed to a backend (scheduler id recorded).
    public static let submit = Transition("submit", from: [.queued, .requeued], to: .submitted)
    /// The solver started.
    public static let start = Transition("start", from: [.submitted], to: .running)
    /// Ended with exit status 0 (a fast run may end before it was seen running).
    public static let complete = Transition("complete", from: [.submitted, .running], to: .completed)
    /// Could not be submitted, or ended with an error.
    public static let fail = Transition("fail", from: [.queued, .submitted, .running, .requeued], to: .failed)
    /// Cancelled by its owner: at once when queued, when its processes are gone otherwise.
    public static let cancel = Transition("cancel", from: [.queued, .submitted, .running, .requeued], to: .cancelled)
    /// Hit its wall-clock limit.
    public static let timeOut = Transition("time_out", from: [.submitted, .running], to: .timedOut)
    /// Stopped early with restart files; to be resumed.
    public static let requeue = Transition("requeue", from: [.submitted, .running], to: .requeued)

    public static let all: [Transition] = [.submit, .start, .complete, .fail, .cancel, .timeOut, .requeue]

    public var description: String { "\(event) (\(from.map(\.rawValue).sorted().joined(separator: "|")) → \(to.rawValue))" }

    /// Whether some transition leads from `a` to `b`.
    public static func isLegal(from a: JobState, to b: JobState) -> Bool {
        all.contains { $0.from.contains(a) && $0.to == b }
    }
}

public struct IllegalTransition: Error, Sendable, CustomStringConvertible {
    public let transition: Transition
    public let state: JobState
    public var description: String { "cannot \(transition.event) a job that is \(state.rawValue)" }
}
