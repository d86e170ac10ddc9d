/// One hand-over of a job to a backend, and how it ended: the job's history.
/// A job that is resubmitted (after a time limit, a preemption, a node
/// failure, an out-of-memory kill) has one attempt per submission; each
/// records why it was made, where it ran and the scheduler's accounting.
public struct JobAttempt: Sendable, Equatable {
    public var jobID: String
    /// 1, 2, ...: the job's `attempts` count after this submission.
    public var number: Int
    public var backend: BackendKind
    public var schedulerJobID: String?
    /// Continued from restart files.
    public var resumed: Bool
    /// Memory per rank this attempt asked for.
    public var memoryMB: Int
    /// Why this attempt was made on this backend ("first attempt", "resubmitted after TIMEOUT with restart files", ...).
    public var why: String
    /// The batch script as submitted (Slurm), or nil.
    public var script: String?
    public var submittedAt: Int64
    public var ending: AttemptEnding?
    /// Rows of the scheduler's accounting (Slurm: the allocation and each step).
    public var accounting: [AccountingRow]

    public init(jobID: String, number: Int, backend: BackendKind, schedulerJobID: String?, resumed: Bool, memoryMB: Int,
                why: String, script: String? = nil, submittedAt: Int64, ending: AttemptEnding? = nil,
                accounting: [AccountingRow] = []) {
        self.jobID = jobID
        self.number = number
        self.backend = backend
        self.schedulerJobID = schedulerJobID
        self.resumed = resumed
        self.memoryMB = memoryMB
        self.why = why
        self.script = script
        self.submittedAt = submittedAt
        self.ending = ending
        self.accounting = accounting
    }

    public func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("attempt", number)
        w.field("backend", backend.rawValue)
        w.field("scheduler_job_id", schedulerJobID)
        w.field("resumed", resumed)
        w.field("memory_mb", memoryMB)
        w.field("why", why)
        w.timestampField("submitted_at", submittedAt)
        w.timestampField("ended_at", ending?.endedAt)
        w.field("ending", ending?.kind)
        w.field("exit_code", ending?.exitCode)
        w.field("reason", ending?.reason)
        w.key("counts_against_limit")
        if let e = ending { w.bool(e.chargeable) } else { w.null() }
        w.key("accounting")
        w.beginArray()
        for row in accounting { row.writeJSON(to: &w) }
        w.endArray()
        w.endObject()
    }
}

/// How an attempt ended, as the sync loop recorded it.
public struct AttemptEnding: Sendable, Equatable {
    public var endedAt: Int64
    /// `completed`, `failed`, `resume_me`, `time_limit`, `preempted`, `out_of_memory`, `node_failure`, ...
    public var kind: String
    public var exitCode: Int?
    public var reason: String
    /// Whether it counts against the job's attempt limit (preemptions and node failures do not).
    public var chargeable: Bool
    public init(endedAt: Int64, kind: String, exitCode: Int?, reason: String, chargeable: Bool) {
        self.endedAt = endedAt
        self.kind = kind
        self.exitCode = exitCode
        self.reason = reason
        self.chargeable = chargeable
    }
}

/// One row of a scheduler's accounting: Slurm's `sacct` for the allocation
/// (`step` empty) and for each step (`batch`, `extern`, `0`, ...).
public struct AccountingRow: Sendable, Equatable {
    public var step: String
    public var state: String
    /// Slurm's `code:signal`.
    public var exitCode: String
    public var elapsedSeconds: Int?
    public var totalCPUSeconds: Double?
    public var maxRSSKB: Int?
    public var nodeList: String?
    /// As the scheduler prints them (ISO 8601 local time for Slurm), nil when unknown.
    public var start: String?
    public var end: String?

    public init(step: String, state: String, exitCode: String, elapsedSeconds: Int?, totalCPUSeconds: Double?,
                maxRSSKB: Int?, nodeList: String?, start: String?, end: String?) {
        self.step = step
        self.state = state
        self.exitCode = exitCode
        self.elapsedSeconds = elapsedSeconds
        self.totalCPUSeconds = totalCPUSeconds
        self.maxRSSKB = maxRSSKB
        self.nodeList = nodeList
        self.start = start
        self.end = end
    }

    public func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("step", step)
        w.field("state", state)
        w.field("exit_code", exitCode)
        w.field("elapsed_seconds", elapsedSeconds)
        w.field("total_cpu_seconds", totalCPUSeconds)
        w.field("max_rss_kb", maxRSSKB)
        w.field("node_list", nodeList)
        w.field("start", start)
        w.field("end", end)
        w.endObject()
    }
}
