import Foundation

/// A validated parameter file: the values given plus the defaults of the
/// options left out. Accessors trap on names that are not in the table or
/// have another type, which is a programming error, not a user one.
public struct ParameterSet: Sendable {
    public let file: String
    /// Values exactly as given in the file.
    public let given: [String: ParameterValue]
    /// Line of each given value.
    public let lines: [String: Int]

    public init(file: String, given: [String: ParameterValue], lines: [String: Int] = [:]) {
        self.file = file
        self.given = given
        self.lines = lines
    }

    /// Whether the run makes its own initial conditions (GADGET-4's NGENIC),
    /// which is what the N-GenIC block of a parameter file asks for.
    public var generatesInitialConditions: Bool {
        if case .integer(let n)? = given["NGENIC"], n > 0 { return true }
        return given["NSample"] != nil
    }

    /// The effective value: given, or the default. Nil only for options whose
    /// default the solver derives (PMGRID) or that do not apply.
    public func value(_ name: String) -> ParameterValue? {
        guard let spec = ParameterTable.spec(named: name) else {
            preconditionFailure("\(name) is not in ParameterTable")
        }
        return value(of: spec)
    }

    /// The effective value of a table entry (for walks over the table: no name lookup).
    public func value(of spec: ParameterSpec) -> ParameterValue? {
        if let v = given[spec.name] { return v }
        if case .optional(let d) = spec.requirement { return d }
        return nil
    }

    public func integer(_ name: String) -> Int {
        guard case .integer(let v)? = value(name) else { preconditionFailure("\(name) is not a set integer") }
        return v
    }

    public func optionalInteger(_ name: String) -> Int? {
        if case .integer(let v)? = value(name) { return v }
        return nil
    }

    public func real(_ name: String) -> Double {
        switch value(name) {
        case .real(let v)?: return v
        case .integer(let v)?: return Double(v)
        default: preconditionFailure("\(name) is not a set real")
        }
    }

    public func string(_ name: String) -> String {
        guard case .string(let v)? = value(name) else { preconditionFailure("\(name) is not a set string") }
        return v
    }

    public func flag(_ name: String) -> Bool { integer(name) != 0 }

    /// A copy with some values replaced (used by tests and by the service to
    /// fill in defaults); values are checked against the table.
    public func replacing(_ changes: [String: ParameterValue]) throws -> ParameterSet {
        var values = given
        var problems: [ParameterDiagnostic] = []
        for (name, value) in changes {
            guard let spec = ParameterTable.spec(named: name) else {
                problems.append(.init(file: file, line: nil, name: name, message: "unknown parameter"))
                continue
            }
            switch spec.check(value) {
            case .success(let v): values[name] = v
            case .failure(let p):
                problems.append(.init(file: file, line: nil, name: name, message: "\(p.reason); allowed: \(spec.allowed)"))
            }
        }
        let set = ParameterSet(file: file, given: values, lines: lines)
        if problems.isEmpty { problems = set.consistencyProblems() }
        if !problems.isEmpty { throw ParameterFileError(diagnostics: problems) }
        return set
    }

    // MARK: Checks across parameters

    func missingParameters() -> [ParameterSpec] {
        ParameterTable.gadget4.filter { spec in
            guard given[spec.name] == nil, lines[spec.name] == nil else { return false }
            switch spec.requirement {
            case .required: return true
            case .requiredForGeneratedICs: return generatesInitialConditions
            case .optional: return false
            }
        }
    }

    /// Problems no single value shows: inconsistent pairs and impossible runs.
    func consistencyProblems() -> [ParameterDiagnostic] {
        var problems: [ParameterDiagnostic] = []
        func fail(_ name: String, _ message: String) {
            problems.append(.init(file: file, line: lines[name], name: name, message: message))
        }
        if real("TimeBegin") >= real("TimeMax") {
            fail("TimeBegin", "must be smaller than TimeMax (\(formatG(real("TimeMax"))))")
        }
        if real("TimeMax") > 1.0 + 1e-12 && flagIsOn("ComovingIntegrationOn") {
            fail("TimeMax", "a scale factor above 1 lies in the future; allowed: TimeBegin < TimeMax ≤ 1")
        }
        if real("OmegaBaryon") > real("Omega0") {
            fail("OmegaBaryon", "exceeds Omega0 (\(formatG(real("Omega0"))))")
        }
        if real("MinSizeTimestep") > real("MaxSizeTimestep") {
            fail("MinSizeTimestep", "exceeds MaxSizeTimestep (\(formatG(real("MaxSizeTimestep"))))")
        }
        if real("SofteningComovingClass0") >= real("BoxSize") {
            fail("SofteningComovingClass0", "is not smaller than BoxSize")
        }
        if generatesInitialConditions {
            if integer("GridSize") < integer("NSample") {
                fail("GridSize", "must be at least NSample (\(integer("NSample")))")
            }
            if integer("PowerSpectrumType") != 2 && integer("ReNormalizeInputSpectrum") == 0 {
                fail("ReNormalizeInputSpectrum", "must be 1 for analytic spectra (they have no normalisation of their own)")
            }
        }
        return problems
    }

    private func flagIsOn(_ name: String) -> Bool { optionalInteger(name) == 1 }

    /// A fingerprint of the values that fix the physics of a run (all but
    /// `ParameterTable.changeableOnRestart`), stored in restart files.
    public func physicsDigest() -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for spec in ParameterTable.gadget4 where !ParameterTable.changeableOnRestart.contains(spec.name) {
            guard let v = value(of: spec) else { continue }
            for byte in "\(spec.name)=\(v);".utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        return hash
    }

    // MARK: Output

    /// The effective values in GADGET-4's `parameters-usedvalues` layout:
    /// run-time parameters in table order, then the compile-time options.
    public func usedValuesText() -> String { Self.usedValuesText(effectiveValues()) }

    /// One effective value with its text as `usedValuesText` prints it.
    public struct EffectiveValue: Sendable {
        public let spec: ParameterSpec
        public let value: ParameterValue
        public let text: String
    }

    /// The values that apply to this run, in table order, each formatted once
    /// (the service renders them twice per accepted job: file and JSON).
    public func effectiveValues() -> [EffectiveValue] {
        let generated = generatesInitialConditions
        var out: [EffectiveValue] = []
        out.reserveCapacity(ParameterTable.gadget4.count)
        for spec in ParameterTable.gadget4 {
            guard let value = value(of: spec) else { continue }
            if spec.requirement == .requiredForGeneratedICs && !generated { continue }
            out.append(EffectiveValue(spec: spec, value: value, text: value.description))
        }
        return out
    }

    public static func usedValuesText(_ values: [EffectiveValue]) -> String {
        // Bytes, not String appends: this runs for every job the service accepts.
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        for v in values {
            out.append(contentsOf: v.spec.name.utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: max(35 - v.spec.name.utf8.count, 1)))
            out.append(contentsOf: v.text.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The run-time parameters as GADGET-4 records them in a snapshot's
    /// `/Parameters` group.
    public func runtimeValues() -> [(String, ParameterValue)] {
        ParameterTable.gadget4.compactMap { spec in
            guard spec.origin == .runtime, let v = value(of: spec) else { return nil }
            if spec.requirement == .requiredForGeneratedICs && !generatesInitialConditions { return nil }
            return (spec.name, v)
        }
    }

    /// The Config.sh options that are on, as GADGET-4 records them in `/Config`:
    /// switches with no value, valued options with their value.
    public func configValues() -> [(String, ParameterValue?)] {
        ParameterTable.gadget4.compactMap { spec in
            guard spec.origin == .compileTime, let v = value(of: spec) else { return nil }
            switch (spec.kind, v) {
            case (.flag, .integer(1)): return (spec.name, nil)
            case (.flag, _): return nil
            case (_, .integer(0)) where spec.name == "NGENIC" || spec.name == "DOUBLEPRECISION": return nil
            default: return (spec.name, v)
            }
        }
    }
}
