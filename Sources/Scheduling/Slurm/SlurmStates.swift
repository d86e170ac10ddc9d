import Jobs
import RunContract

/// Slurm's job states, as squeue and sacct print them, mapped onto the runs
/// every backend reports. One pure function, tested state by state.
public enum SlurmStates {
    /// `state` as printed (sacct adds words: `CANCELLED by 0`), `exitCode`
    /// as `code:signal` when known (sacct), `reason` from squeue.
    public static func status(state printed: String, exitCode: String?, reason: String = "") -> RunStatus {
        let state = printed.split(separator: " ").first.map(String.init) ?? printed
        let (code, signal) = parseExitCode(exitCode)
        switch state {
        case "PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "POWER_UP_NODE":
            return .queued(reason: reason.isEmpty || reason == "None" ? nil : reason)
        case "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "RESIZING", "SIGNALING", "STAGE_OUT", "UPDATE_DB":
            return .running
        case "COMPLETED":
            return .ended(RunEnding(.completed, exitCode: code ?? 0, detail: "COMPLETED"))
        case "FAILED":
            if code == Int(SolverExit.resumeMe) && signal == 0 {
                return .ended(RunEnding(.resumeMe, exitCode: code, detail: "FAILED with exit code 75 (restart files written)"))
            }
            let how = signal.map { $0 > 0 ? "signal \($0)" : "exit code \(code ?? -1)" } ?? "exit code \(code ?? -1)"
            return .ended(RunEnding(.failed, exitCode: code, detail: "FAILED with \(how)"))
        case "CANCELLED":
            return .ended(RunEnding(.cancelled, exitCode: code, detail: printed))
        case "TIMEOUT":
            return .ended(RunEnding(.timeLimit, exitCode: code, detail: "TIMEOUT"))
        case "OUT_OF_MEMORY":
            return .ended(RunEnding(.outOfMemory, exitCode: code, detail: "OUT_OF_MEMORY"))
        case "NODE_FAIL":
            return .ended(RunEnding(.nodeFailure, exitCode: code, detail: "NODE_FAIL"))
        case "PREEMPTED":
            return .ended(RunEnding(.preempted, exitCode: code, detail: "PREEMPTED"))
        case "BOOT_FAIL":
            return .ended(RunEnding(.bootFailure, exitCode: code, detail: "BOOT_FAIL"))
        case "DEADLINE":
            return .ended(RunEnding(.deadline, exitCode: code, detail: "DEADLINE"))
        case "SPECIAL_EXIT", "REVOKED", "LAUNCH_FAILED", "RECONFIG_FAIL":
            return .ended(RunEnding(.failed, exitCode: code, detail: state))
        default:
            return .unknown(reason: "Slurm state \(printed)")
        }
    }

    /// A job's status from its sacct rows: the allocation's state, except
    /// that a step killed for its memory makes the ending `outOfMemory` even
    /// when the allocation only says FAILED (the batch script saw srun die).
    /// Slurm says so in two ways: the step's state OUT_OF_MEMORY (memory
    /// enforced by cgroups), or — where memory is enforced by polling
    /// (`JobAcctGatherParams=OverMemoryKill`, no cgroups) — a step killed by
    /// signal 9 whose largest task resident set (MaxRSS) exceeded the
    /// `memoryMB` per rank the job was given.
    public static func status(accounting rows: [SlurmAccountingEntry], memoryMB: Int) -> RunStatus? {
        guard let allocation = rows.first(where: { $0.step.isEmpty }) else { return nil }
        let status = status(state: allocation.state, exitCode: allocation.exitCode)
        guard case .ended(let e) = status, e.kind == .failed || e.kind == .cancelled else { return status }
        for step in rows where !step.step.isEmpty {
            if step.state.hasPrefix("OUT_OF_MEMORY") {
                return .ended(RunEnding(.outOfMemory, exitCode: e.exitCode, detail: "OUT_OF_MEMORY in step \(step.step)"))
            }
            let (_, signal) = parseExitCode(step.exitCode)
            if signal == 9, let rss = kilobytes(step.maxRSS), rss > memoryMB * 1024 {
                return .ended(RunEnding(.outOfMemory, exitCode: e.exitCode,
                                        detail: "step \(step.step) killed at \(rss / 1024) MB per task, over its \(memoryMB) MB"))
            }
        }
        return status
    }

    /// Whether squeue's state is final (sacct then has the exit code).
    public static func isFinal(_ printed: String) -> Bool {
        if case .ended = status(state: printed, exitCode: nil) { return true }
        return false
    }

    /// `75:0` → (75, 0).
    static func parseExitCode(_ text: String?) -> (Int?, Int?) {
        guard let text else { return (nil, nil) }
        let parts = text.split(separator: ":")
        return (parts.first.flatMap { Int($0) }, parts.count > 1 ? Int(parts[1]) : nil)
    }

    /// `[D-]HH:MM:SS`, `MM:SS.mmm` or `MM:SS` → seconds.
    public static func seconds(_ text: String) -> Double? {
        guard !text.isEmpty, text != "INVALID", text != "UNLIMITED" else { return nil }
        var days = 0.0
        var rest = Substring(text)
        if let dash = rest.firstIndex(of: "-") {
            guard let d = Double(rest[..<dash]) else { return nil }
            days = d
            rest = rest[rest.index(after: dash)...]
        }
        let parts = rest.split(separator: ":").map { Double($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        let values = parts.map { $0! }
        let clock: Double
        switch values.count {
        case 3: clock = values[0] * 3600 + values[1] * 60 + values[2]
        case 2: clock = values[0] * 60 + values[1]
        default: clock = values[0]
        }
        return days * 86_400 + clock
    }

    /// sacct's MaxRSS (`12345K`, `1.5M`, `2G`, bytes without a suffix) → kB.
    public static func kilobytes(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let factor: Double
        var number = Substring(text)
        switch last {
        case "K": factor = 1; number = number.dropLast()
        case "M": factor = 1024; number = number.dropLast()
        case "G": factor = 1024 * 1024; number = number.dropLast()
        case "T": factor = 1024 * 1024 * 1024; number = number.dropLast()
        default: factor = 1.0 / 1024
        }
        return Double(number).map { Int(($0 * factor).rounded()) }
    }

    /// An accounting line as the store keeps it.
    public static func row(_ e: SlurmAccountingEntry) -> AccountingRow {
        func known(_ s: String) -> String? { s.isEmpty || s == "Unknown" || s == "None" ? nil : s }
        return AccountingRow(step: e.step, state: e.state, exitCode: e.exitCode, elapsedSeconds: seconds(e.elapsed).map { Int($0) },
                             totalCPUSeconds: seconds(e.totalCPU), maxRSSKB: kilobytes(e.maxRSS), nodeList: known(e.nodeList),
                             start: known(e.start), end: known(e.end))
    }
}

/// What sbatch's complaints mean: come back later, slow down, or this job
/// can never be taken as it is.
public enum SlurmMessages {
    static let unavailable = [
        "Unable to contact slurm controller", "Socket timed out", "Slurm temporarily unable", "Resource temporarily unavailable",
        "Zero Bytes were transmitted or received", "Communication connection failure", "Slurm backup controller in standby mode",
        "Transmission failed", "slurmctld not responding", "Unable to create job record, try again",
    ]

    public static func submissionError(_ stderr: String) -> SubmitError {
        let text = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        let message = text.split(whereSeparator: \.isNewline).last.map(String.init) ?? text
        if text.contains("Rate limit exceeded") { return .rateLimited(message) }
        if unavailable.contains(where: { text.contains($0) }) { return .unavailable(message) }
        // Everything else is about the job itself (partition, account, QoS,
        // node configuration, limits): Slurm's own words for the job's error.
        let cleaned = message.replacingOccurrences(of: "sbatch: error: ", with: "")
        return .refused("Slurm refused the job: \(cleaned)")
    }
}
