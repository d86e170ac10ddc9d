/// The value of one parameter, typed as GADGET-4 types it (PARAM_INT,
/// PARAM_DOUBLE, PARAM_STRING).
public enum ParameterValue: Sendable, Equatable, CustomStringConvertible {
    case integer(Int)
    case real(Double)
    case string(String)

    /// As GADGET-4 prints it in `parameters-usedvalues` (`%d`, `%g`, `%s`).
    public var description: String {
        switch self {
        case .integer(let v): String(v)
        case .real(let v): formatG(v)
        case .string(let s): s
        }
    }
}

/// The kind of value a parameter takes; `flag` is a Config.sh switch (0/1,
/// or written bare as in Config.sh).
public enum ParameterKind: Sendable, Equatable {
    case integer, real, string, flag

    var noun: String {
        switch self {
        case .integer: "an integer"
        case .real: "a real number"
        case .string: "a word without spaces"
        case .flag: "0 or 1 (or the bare name, as in Config.sh)"
        }
    }
}

/// When a parameter must appear in the file.
public enum Requirement: Sendable, Equatable {
    /// Always required, as every run-time parameter is in GADGET-4.
    case required
    /// Required only when initial conditions are generated (GADGET-4's NGENIC block).
    case requiredForGeneratedICs
    /// Optional; the default applies when absent (`nil`: the solver derives it).
    case optional(ParameterValue?)
}

/// Where GADGET-4 keeps a setting: the parameter file, or Config.sh at
/// compile time. g4sim reads both from the parameter file; snapshots record
/// them in `/Parameters` and `/Config` respectively, as GADGET-4 does.
public enum ParameterOrigin: Sendable, Equatable {
    case runtime, compileTime
}

/// One known parameter: its name, type, when it is required and which values
/// are allowed. The table of these (`ParameterTable.gadget4`) is the single
/// source of truth for the solver and for the service's validation.
public struct ParameterSpec: Sendable {
    public let name: String
    public let kind: ParameterKind
    public let requirement: Requirement
    public let origin: ParameterOrigin
    /// Allowed range for numbers (inclusive bounds unless `lowerExclusive`).
    public let minimum: Double?
    public let maximum: Double?
    public let lowerExclusive: Bool
    /// Allowed values, when only a few are (e.g. ICFormat 1 or 3).
    public let choices: [Int]?
    public let summary: String

    public init(_ name: String, _ kind: ParameterKind, needed requirement: Requirement = .required,
                origin: ParameterOrigin = .runtime, min: Double? = nil, above: Double? = nil,
                max: Double? = nil, choices: [Int]? = nil, _ summary: String) {
        self.name = name
        self.kind = kind
        self.requirement = requirement
        self.origin = origin
        self.minimum = above ?? min
        self.lowerExclusive = above != nil
        self.maximum = max
        self.choices = choices
        self.summary = summary
    }

    /// What the parameter accepts, in words, for error messages.
    public var allowed: String {
        if let choices {
            return "one of " + choices.map(String.init).joined(separator: ", ")
        }
        var text = kind.noun
        if let minimum {
            text += lowerExclusive ? " > \(formatG(minimum))" : " ≥ \(formatG(minimum))"
        }
        if let maximum {
            text += (minimum == nil ? " " : " and ") + "≤ \(formatG(maximum))"
        }
        return text
    }

    /// Parses `text` as this parameter's type and checks its range.
    /// Returns the value, or a sentence saying why it is not allowed.
    public func parse(_ text: String) -> Result<ParameterValue, ParameterProblem> {
        switch kind {
        case .string:
            return text.isEmpty ? .failure(.init("is empty")) : .success(.string(text))
        case .flag:
            guard let v = Int(text), v == 0 || v == 1 else {
                return .failure(.init("has value '\(text)'"))
            }
            return check(.integer(v))
        case .integer:
            guard let v = Int(text) else { return .failure(.init("has value '\(text)', not an integer")) }
            return check(.integer(v))
        case .real:
            guard let v = Double(text) else { return .failure(.init("has value '\(text)', not a number")) }
            return check(.real(v))
        }
    }

    /// Checks an already typed value (as the service receives it from JSON).
    public func check(_ value: ParameterValue) -> Result<ParameterValue, ParameterProblem> {
        let number: Double
        switch (kind, value) {
        case (.string, .string(let s)):
            if s.isEmpty || s.contains(where: { $0.isWhitespace || $0.isNewline }) {
                return .failure(.init("must be a single word without spaces"))
            }
            return .success(value)
        case (.integer, .integer(let v)), (.flag, .integer(let v)):
            if kind == .flag && v != 0 && v != 1 { return .failure(.init("has value \(v)")) }
            if let choices, !choices.contains(v) { return .failure(.init("has value \(v)")) }
            number = Double(v)
        case (.real, .real(let v)):
            guard v.isFinite else { return .failure(.init("has value \(v), not a finite number")) }
            number = v
        case (.real, .integer(let v)):
            return check(.real(Double(v)))
        default:
            return .failure(.init("has a value of the wrong type"))
        }
        if let minimum, lowerExclusive ? !(number > minimum) : !(number >= minimum) {
            return .failure(.init("has value \(value), out of range"))
        }
        if let maximum, !(number <= maximum) {
            return .failure(.init("has value \(value), out of range"))
        }
        return .success(value)
    }
}

/// Why a value was refused (without the parameter's name and allowed values,
/// which the caller adds).
public struct ParameterProblem: Error, Sendable, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// Shortest text that reads back as the same double ("50", "0.04",
/// "3.085678e+24"). GADGET-4 prints `%g`, which loses digits of the units.
func formatG(_ v: Double) -> String {
    if v.isFinite, v == v.rounded(), abs(v) < 1e15 { return String(Int(v)) }
    return String(v)
}
