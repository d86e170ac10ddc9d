import Foundation
import Parameters

/// Where a job should run. `auto` lets the service choose (its default
/// backend); a stored job always names a concrete one.
public enum BackendKind: String, Sendable, CaseIterable, Codable {
    case local, slurm, kubernetes, auto
}

/// Where a batch scheduler puts the job (Slurm's partition, account, QoS);
/// nil takes the site's default.
public struct Placement: Sendable, Equatable {
    public var partition: String?
    public var account: String?
    public var qos: String?
    public init(partition: String? = nil, account: String? = nil, qos: String? = nil) {
        self.partition = partition
        self.account = account
        self.qos = qos
    }
}

/// What a job asks of the machine.
public struct Resources: Sendable, Equatable {
    /// MPI ranks.
    public var ranks: Int
    public var nodes: Int
    /// Seconds; passed to the solver as TimeLimitCPU, which stops cleanly at 85 % of it.
    public var wallClockLimit: Int
    /// Megabytes per rank; passed to the solver as MaxMemSize.
    public var memoryMB: Int

    public init(ranks: Int = 1, nodes: Int = 1, wallClockLimit: Int = 86_400, memoryMB: Int = 1_800) {
        self.ranks = ranks
        self.nodes = nodes
        self.wallClockLimit = wallClockLimit
        self.memoryMB = memoryMB
    }
}

/// A validated submission: everything needed to run it, nothing unchecked.
public struct JobSpec: Sendable {
    public var name: String
    public var description: String
    public var simulatorType: String
    /// The complete GADGET-4 parameter set (given values, convenience fields and defaults).
    public var parameters: ParameterSet
    /// Scale factors of the outputs (the OutputListFilename file).
    public var outputTimes: [Double]
    public var resources: Resources
    public var placement = Placement()
    public var backend: BackendKind
    /// The `parameters` object as the request gave it (canonical JSON), shown
    /// in listings; the full effective set is shown for a single job.
    public var requestParametersJSON: String = "{}"
    /// Service-controlled parameters of a submitted parameter file (or of an
    /// uploaded input) and what the service put there instead.
    public var rewrites: [ParameterRewrite] = []
    /// Particles of uploaded initial conditions (nil: generated, NSample³).
    public var particleCount: Int?

    public var numParticles: Int {
        if let particleCount { return particleCount }
        let n = parameters.integer("NSample")
        return n * n * n
    }

    /// The rewrites as a JSON array (stored with the job, shown by the API).
    public var rewritesJSON: String {
        var w = JSONWriter(capacity: 256)
        w.beginArray()
        for r in rewrites {
            w.beginObject()
            w.field("parameter", r.parameter)
            w.field("given", r.given)
            w.field("used", r.used)
            w.field("reason", r.reason)
            w.field("upload_id", r.uploadID)
            w.endObject()
        }
        w.endArray()
        return w.text
    }
    public var boxSize: Double { parameters.real("BoxSize") }

    /// The parameter file the solver reads, in GADGET-4 syntax (the same text
    /// `g4sim params check` prints back), and the effective parameters as a JSON
    /// object (names in table order), from one walk over the parameter table.
    public var renderedParameters: (file: String, json: String) {
        let values = parameters.effectiveValues()
        let file = "% GADGET-4 parameter file written by g4api for job '\(name)'\n" + ParameterSet.usedValuesText(values)
        var w = JSONWriter(capacity: 2048)
        w.beginObject()
        for v in values {
            w.key(escaping: v.spec.name)
            if case .string(let text) = v.value { w.string(text) } else { w.raw(v.text) }  // %d and %g text is JSON
        }
        w.endObject()
        return (file, w.text)
    }

    /// The OutputListFilename file: one scale factor per line.
    public var outputListText: String { outputTimes.map { String($0) }.joined(separator: "\n") + "\n" }
}

/// One service-controlled parameter replaced by the service: what the
/// submission gave (nil: not given), what the solver reads, and why.
public struct ParameterRewrite: Sendable, Equatable {
    public var parameter: String
    public var given: String?
    public var used: String
    public var reason: String
    /// The upload the new value points at, if any.
    public var uploadID: String?
    public init(parameter: String, given: String?, used: String, reason: String, uploadID: String? = nil) {
        self.parameter = parameter
        self.given = given
        self.used = used
        self.reason = reason
        self.uploadID = uploadID
    }
}

/// A refused input, naming the field (dotted path, e.g. `parameters.BoxSize`
/// or `resources.ranks`) so a client can point at it.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String
    /// Every problem when there are several (a parameter file's `file:line` diagnostics).
    public var details: [String] = []
    public init(field: String, message: String, details: [String] = []) {
        self.field = field
        self.message = message
        self.details = details
    }
    public var description: String { "\(field): \(message)" }
}
