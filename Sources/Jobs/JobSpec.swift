import Foundation
import Parameters

/// Where a job should run. `auto` lets the service choose (today: local).
public enum BackendKind: String, Sendable, CaseIterable {
    case local, slurm, kubernetes, auto
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
    public var backend: BackendKind
    /// The `parameters` object as the request gave it (canonical JSON), shown
    /// in listings; the full effective set is shown for a single job.
    public var requestParametersJSON: String = "{}"

    public var numParticles: Int {
        let n = parameters.integer("NSample")
        return n * n * n
    }
    public var boxSize: Double { parameters.real("BoxSize") }

    /// The parameter file the solver reads, in GADGET-4 syntax, from the one
    /// parameter table (the same text `g4sim params check` prints back).
    public var parameterFileText: String {
        "% GADGET-4 parameter file written by g4api for job '\(name)'\n" + parameters.usedValuesText()
    }

    /// The OutputListFilename file: one scale factor per line.
    public var outputListText: String { outputTimes.map { String($0) }.joined(separator: "\n") + "\n" }

    /// The effective parameters as a JSON object (names in table order).
    public var parametersJSON: String {
        var w = JSONWriter(capacity: 2048)
        w.beginObject()
        let generated = parameters.generatesInitialConditions
        for spec in ParameterTable.gadget4 {
            guard let v = parameters.value(of: spec) else { continue }
            if spec.requirement == .requiredForGeneratedICs && !generated { continue }
            w.key(escaping: spec.name)
            switch v {
            case .integer(let i): w.int(i)
            case .real(let d): w.double(d)
            case .string(let s): w.string(s)
            }
        }
        w.endObject()
        return w.text
    }
}

/// A refused input, naming the field (dotted path, e.g. `parameters.BoxSize`
/// or `resources.ranks`) so a client can point at it.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { "\(field): \(message)" }
}
