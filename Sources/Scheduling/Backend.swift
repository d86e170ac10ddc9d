import Foundation
import Jobs

/// Something that runs jobs: the local machine today, Slurm and Kubernetes
/// in their own issues. The dispatcher (module Sync) drives a backend only
/// through this protocol.
public protocol Backend: Sendable {
    var kind: BackendKind { get }

    /// Why this backend can never run `job` (e.g. more ranks than slots), or nil.
    func refusal(for job: Job) -> ValidationError?

    /// Whether a job of this size can start now (free slots).
    func canStart(_ job: Job) async -> Bool

    /// Starts the job's next attempt. Idempotent per attempt: if g4api died
    /// after starting it but before recording that, calling again returns the
    /// run already started instead of starting a second one.
    func submit(_ job: Job, resume: Bool) async throws -> Submission

    /// What became of a submitted job's run.
    func observe(_ job: Job) async -> Observation

    /// Stops the run: polite signal first, kill after a grace period.
    /// Returns once no process of the run is left.
    func cancel(_ job: Job) async

    /// The job's working directory, where outputs and logs are.
    func workingDirectory(for job: Job) -> URL
}

/// What `submit` reports: the scheduler's id and data to find the run again.
public struct Submission: Sendable, Equatable {
    public var schedulerJobID: String
    /// Opaque, stored with the job (JSON).
    public var backendData: String
    public init(schedulerJobID: String, backendData: String) {
        self.schedulerJobID = schedulerJobID
        self.backendData = backendData
    }
}

public enum Observation: Sendable, Equatable {
    /// Still running; progress 0-100 from the solver's progress file, when it has one.
    case running(progress: Double?)
    /// Ended with this exit status.
    case exited(code: Int32)
    /// The process is gone and left no exit status (killed with g4api's host, say).
    case vanished(reason: String)
}

public struct BackendError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The solver's `OutputDir/progress.json`.
public struct SolverProgress: Sendable, Equatable {
    public var state: String
    public var step: Int?
    public var scaleFactor: Double?
    public var redshift: Double?
    public var fractionDone: Double?
    public var elapsedSeconds: Double?
    public var etaSeconds: Double?
    public var particlesPerSecond: Double?
    public var lastSnapshot: String?
    public var updated: String?

    /// Reads the file; nil when it does not exist (yet) or is not readable JSON.
    public static func read(_ url: URL) -> SolverProgress? {
        guard let data = try? Data(contentsOf: url),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        func d(_ k: String) -> Double? { (object[k] as? NSNumber)?.doubleValue }
        return SolverProgress(state: object["state"] as? String ?? "unknown", step: (object["step"] as? NSNumber)?.intValue,
                              scaleFactor: d("scale_factor"), redshift: d("redshift"), fractionDone: d("fraction_done"),
                              elapsedSeconds: d("elapsed_seconds"), etaSeconds: d("eta_seconds"),
                              particlesPerSecond: d("particles_per_second"), lastSnapshot: object["last_snapshot"] as? String,
                              updated: object["updated"] as? String)
    }
}
