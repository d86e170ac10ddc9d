import Foundation
import RunContract

/// A stored job: the validated submission plus what happened to it.
/// Timestamps are microseconds since 1970 (sub-second, exact in SQLite and
/// PostgreSQL BIGINT alike).
public struct Job: Sendable, Equatable {
    public var id: String
    public var owner: String
    public var name: String
    public var description: String
    public var simulatorType: String
    public var numParticles: Int
    public var boxSize: Double
    /// The effective GADGET-4 parameters as a JSON object.
    public var parametersJSON: String
    /// The request's `parameters` object (JSON).
    public var requestParametersJSON: String
    /// The parameter file and output list the solver reads.
    public var parameterFile: String
    public var outputList: String
    public var resources: Resources
    public var placement: Placement
    /// Concrete: `auto` was resolved when the job was stored.
    public var backend: BackendKind
    /// The request left the backend to the service (`auto`), so the sync
    /// loop may move the job to the next configured backend when this one
    /// cannot take it (Slurm's controller unreachable, a partition inactive).
    public var mayFallBack: Bool
    public internal(set) var state: JobState
    /// 0-100.
    public var progress: Double
    public var cancelRequested: Bool
    public var schedulerJobID: String?
    public var exitCode: Int?
    public var errorMessage: String?
    /// Backend-private data (the local backend: pid and start time), JSON.
    public var backendData: String?
    /// The solver's last progress report, as the sync loop read it.
    public var solverProgress: SolverProgress?
    public var idempotencyKey: String?
    /// SHA-256 of the request body, to tell a replay from a reused key.
    public var requestHash: String?
    /// How often it was handed to a backend (resumes count).
    public var attempts: Int
    public var createdAt: Int64
    public var updatedAt: Int64
    public var submittedAt: Int64?
    public var startedAt: Int64?
    public var finishedAt: Int64?
    /// The sweep this job is a point of (nil: a job of its own). A backend
    /// that can submit arrays (Slurm) may submit a sweep's jobs as one.
    public var sweepID: String?
    /// The service's rewrites of a submitted parameter file (JSON array).
    public var rewritesJSON: String = "[]"

    /// A new job in state `queued`, to run on `backend` (a concrete kind:
    /// the service resolves `auto` first).
    public init(id: String = UUID().uuidString.lowercased(), owner: String, spec: JobSpec, backend: BackendKind,
                idempotencyKey: String? = nil, requestHash: String? = nil, sweepID: String? = nil,
                now: Int64 = Clock.microseconds()) {
        precondition(backend != .auto, "a stored job names a concrete backend")
        let rendered = spec.renderedParameters
        self.init(id: id, owner: owner, name: spec.name, description: spec.description, simulatorType: spec.simulatorType,
                  numParticles: spec.numParticles, boxSize: spec.boxSize, parametersJSON: rendered.json,
                  requestParametersJSON: spec.requestParametersJSON, parameterFile: rendered.file, outputList: spec.outputListText,
                  resources: spec.resources, placement: spec.placement, backend: backend, state: .queued, progress: 0,
                  cancelRequested: false, idempotencyKey: idempotencyKey, requestHash: requestHash, attempts: 0,
                  createdAt: now, updatedAt: now, mayFallBack: spec.backend == .auto)
        self.sweepID = sweepID
        self.rewritesJSON = spec.rewritesJSON
    }

    /// Every field as stored; only stores call this (they read back what a
    /// transition already checked).
    public init(id: String, owner: String, name: String, description: String, simulatorType: String, numParticles: Int,
                boxSize: Double, parametersJSON: String, requestParametersJSON: String, parameterFile: String, outputList: String,
                resources: Resources, placement: Placement = Placement(), backend: BackendKind, state: JobState, progress: Double,
                cancelRequested: Bool, schedulerJobID: String? = nil, exitCode: Int? = nil, errorMessage: String? = nil,
                backendData: String? = nil, solverProgress: SolverProgress? = nil,
                idempotencyKey: String? = nil, requestHash: String? = nil, attempts: Int, createdAt: Int64,
                updatedAt: Int64, submittedAt: Int64? = nil, startedAt: Int64? = nil, finishedAt: Int64? = nil,
                sweepID: String? = nil, rewritesJSON: String = "[]", mayFallBack: Bool = false) {
        self.mayFallBack = mayFallBack
        self.id = id
        self.owner = owner
        self.name = name
        self.description = description
        self.simulatorType = simulatorType
        self.numParticles = numParticles
        self.boxSize = boxSize
        self.parametersJSON = parametersJSON
        self.requestParametersJSON = requestParametersJSON
        self.parameterFile = parameterFile
        self.outputList = outputList
        self.resources = resources
        self.placement = placement
        self.backend = backend
        self.state = state
        self.progress = progress
        self.cancelRequested = cancelRequested
        self.schedulerJobID = schedulerJobID
        self.exitCode = exitCode
        self.errorMessage = errorMessage
        self.backendData = backendData
        self.solverProgress = solverProgress
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.attempts = attempts
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.submittedAt = submittedAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.sweepID = sweepID
        self.rewritesJSON = rewritesJSON
    }

    /// The parameter file for an attempt with `memoryMB` per rank: the stored
    /// file with its MaxMemSize line changed (an out-of-memory resubmission
    /// raises the memory, and g4sim's own limit must follow), and TimeLimitCPU
    /// where a backend's own deadline needs g4sim to stop earlier.
    public func parameterFile(memoryMB: Int, timeLimitSeconds: Int? = nil) -> String {
        var lines = parameterFile.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for i in lines.indices {
            switch lines[i].split(separator: " ", maxSplits: 1).first {
            case "MaxMemSize": lines[i] = "MaxMemSize" + String(repeating: " ", count: 25) + String(memoryMB)
            case "TimeLimitCPU" where timeLimitSeconds != nil: lines[i] = "TimeLimitCPU" + String(repeating: " ", count: 23) + String(timeLimitSeconds!)
            default: break
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Applies a transition in memory (stores do the same as a compare-and-set).
    public mutating func apply(_ t: Transition, at now: Int64 = Clock.microseconds()) throws(IllegalTransition) {
        guard t.from.contains(state) else { throw IllegalTransition(transition: t, state: state) }
        state = t.to
        updatedAt = now
        switch t.to {
        case .submitted: submittedAt = now; attempts += 1
        case .running: startedAt = startedAt ?? now
        case .completed, .failed, .cancelled, .timedOut: finishedAt = now
        case .queued, .requeued: break
        }
        if t.to == .completed { progress = 100 }
    }

    /// The job as the API shows it: the seed's fields (`status` with its five
    /// values, `parameters` as requested) plus `phase` (the finer state) and
    /// the rest; `detailed` adds `effective_parameters`, the complete set the
    /// solver reads (left out of listings, where it would be 2 kB per job).
    public func writeJSON(to w: inout JSONWriter, detailed: Bool = false, history: [JobAttempt] = []) {
        w.beginObject()
        w.field("id", id)
        w.field("name", name)
        w.field("description", description)
        w.field("status", state.status.rawValue)
        w.field("phase", state.rawValue)
        w.field("owner", owner)
        w.field("simulator_type", simulatorType)
        w.field("num_particles", numParticles)
        w.field("box_size", boxSize)
        w.key("parameters"); w.raw(requestParametersJSON)
        if detailed {
            w.key("effective_parameters"); w.raw(parametersJSON)
            w.key("rewrites"); w.raw(rewritesJSON)
        }
        w.key("resources")
        w.beginObject()
        w.field("ranks", resources.ranks)
        w.field("nodes", resources.nodes)
        w.field("wall_clock_limit", resources.wallClockLimit)
        w.field("memory_mb", resources.memoryMB)
        w.endObject()
        w.key("scheduler")
        w.beginObject()
        w.field("partition", placement.partition)
        w.field("account", placement.account)
        w.field("qos", placement.qos)
        w.endObject()
        w.field("backend", backend.rawValue)
        w.field("progress", (progress * 100).rounded() / 100)
        w.field("cancel_requested", cancelRequested)
        w.field("scheduler_job_id", schedulerJobID)
        w.field("exit_code", exitCode)
        w.field("error_message", errorMessage)
        w.field("attempts", attempts)
        w.timestampField("created_at", createdAt)
        w.timestampField("updated_at", updatedAt)
        w.timestampField("submitted_at", submittedAt)
        w.timestampField("started_at", startedAt)
        w.timestampField("completed_at", finishedAt)
        w.field("sweep_id", sweepID)
        if detailed {
            w.key("history")
            w.beginArray()
            for attempt in history { attempt.writeJSON(to: &w) }
            w.endArray()
        }
        w.endObject()
    }
}

/// Wall-clock time in microseconds, and its ISO 8601 form.
public enum Clock {
    public static func microseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    /// `2026-11-29T06:39:12.123456Z`, written by hand (DateFormatter is slow and not thread-safe).
    public static func iso8601(_ us: Int64) -> String {
        var seconds = Int(us.quotientAndRemainder(dividingBy: 1_000_000).quotient)
        var micro = Int(us % 1_000_000)
        if micro < 0 { micro += 1_000_000; seconds -= 1 }
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int, _ n: Int) -> String {
            let s = String(v)
            return s.count >= n ? s : String(repeating: "0", count: n - s.count) + s
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
            + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2)).\(pad(micro, 6))Z"
    }
}
