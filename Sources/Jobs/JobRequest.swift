import Foundation
import Parameters

/// Turns a submission body into a `JobSpec`, or says which field is wrong.
///
/// Accepts the seed's body unchanged (`name`, `description`, `num_particles`,
/// `box_size`, `parameters`, `simulator_type`) plus the convenience fields
/// `time_begin`/`redshift_start`, `time_max`, `output_times`, `resources` and
/// `backend`. What is left out takes the values of GADGET-4's DM-L50-N128
/// example (a 50 Mpc/h ΛCDM box from z = 63), with the softening scaled to the
/// mean particle spacing, so `{"name": "x"}` is a runnable job.
public enum JobRequest {
    public static let topLevelFields: Set<String> = [
        "name", "description", "simulator_type", "num_particles", "box_size", "time_begin", "redshift_start",
        "time_max", "output_times", "parameters", "resources", "backend", "scheduler", "parameter_file", "parameter_file_name",
        "inputs",
    ]
    public static let schedulerFields: Set<String> = ["partition", "account", "qos"]
    public static let resourceFields: Set<String> = ["ranks", "nodes", "wall_clock_limit", "memory_mb"]

    /// Parameters the service sets itself: paths (a job writes only into its
    /// own directory and reads nothing of the server's) and the limits that
    /// come from `resources`.
    public static let serviceControlled: [String: String] = [
        "OutputDir": "set by the service: outputs go to the job's own directory",
        "InitCondFile": "set by the service: upload initial conditions (POST /api/v1/uploads?kind=ics) and name them in inputs.InitCondFile",
        "OutputListFilename": "set by the service: use output_times, or upload a list (kind=output_list) and name it in inputs.OutputListFilename",
        "PowerSpectrumFile": "set by the service: upload the table (kind=power_spectrum) and name it in inputs.PowerSpectrumFile",
        "TimeLimitCPU": "set by the service from resources.wall_clock_limit",
        "MaxMemSize": "set by the service from resources.memory_mb",
    ]

    /// Softening / mean particle spacing of the DM-L50-N128 example (0.01 for 50/128).
    public static let softeningPerSpacing = 0.01 / (50.0 / 128.0)

    /// The DM-L50-N128 example's values (GADGET-4's examples/DM-L50-N128/param.txt),
    /// with the N-GenIC block switched on (2LPT), FoF and power spectra at each output.
    public static let standardBox: [String: ParameterValue] = [
        "InitCondFile": .string("./ics"), "OutputDir": .string("output"), "SnapshotFileBase": .string("snapshot"),
        "OutputListFilename": .string("outputs.txt"), "OutputListOn": .integer(1),
        "ICFormat": .integer(3), "SnapFormat": .integer(3),
        "TimeLimitCPU": .real(86400), "CpuTimeBetRestartFile": .real(7200), "MaxMemSize": .integer(1800),
        "TimeBegin": .real(0.015625), "TimeMax": .real(1.0), "ComovingIntegrationOn": .integer(1),
        "Omega0": .real(0.308), "OmegaLambda": .real(0.692), "OmegaBaryon": .real(0.0482),
        "HubbleParam": .real(0.678), "Hubble": .real(100.0), "BoxSize": .real(50.0),
        "TimeBetSnapshot": .real(0), "TimeOfFirstSnapshot": .real(0), "TimeBetStatistics": .real(0.01),
        "NumFilesPerSnapshot": .integer(1), "MaxFilesWithConcurrentIO": .integer(1),
        "ErrTolIntAccuracy": .real(0.01), "CourantFac": .real(0.3), "MaxSizeTimestep": .real(0.005),
        "MinSizeTimestep": .real(0), "TypeOfOpeningCriterion": .integer(1), "ErrTolTheta": .real(0.75),
        "ErrTolThetaMax": .real(1.0), "ErrTolForceAcc": .real(0.002), "TopNodeFactor": .real(3.0),
        "ActivePartFracForNewDomainDecomp": .real(0.01), "ActivePartFracForPMinsteadOfEwald": .real(0.05),
        "DesNumNgb": .integer(64), "MaxNumNgbDeviation": .real(1),
        "UnitLength_in_cm": .real(3.085678e24), "UnitMass_in_g": .real(1.989e43),
        "UnitVelocity_in_cm_per_s": .real(1e5), "GravityConstantInternal": .real(0),
        "SofteningComovingClass0": .real(0.01), "SofteningMaxPhysClass0": .real(0.01),
        "SofteningClassOfPartType0": .integer(0), "SofteningClassOfPartType1": .integer(0),
        "ArtBulkViscConst": .real(1.0), "MinEgySpec": .real(0), "InitGasTemp": .real(0),
        "NSample": .integer(128), "GridSize": .integer(128), "Seed": .integer(181170), "SphereMode": .integer(1),
        "PowerSpectrumType": .integer(0), "ReNormalizeInputSpectrum": .integer(1), "PrimordialIndex": .real(1.0),
        "ShapeGamma": .real(0.21), "Sigma8": .real(0.9), "PowerSpectrumFile": .string("powerspec"),
        "InputSpectrum_UnitLength_in_cm": .real(3.085678e21),
        "NGENIC_2LPT": .integer(1), "FOF": .integer(1), "POWERSPEC_ON_OUTPUT": .integer(1),
    ]
    static let standardSet = ParameterSet(file: "job", given: standardBox)

    /// The example's output list.
    public static let standardOutputTimes = [0.25, 0.5, 1.0]

    /// Service-side bounds that the parameter table does not know about.
    public struct Limits: Sendable {
        public var maxRanks = 4096
        public var maxNodes = 1024
        public var maxWallClock = 30 * 86_400
        public var minWallClock = 10
        public var maxMemoryMB = 1 << 20
        public var maxNameLength = 128
        public var maxDescriptionLength = 4096
        public var maxOutputTimes = 1000
        public init() {}
    }

    /// `inputs`: the uploads the body's `inputs` object names, already looked
    /// up for the submitter (the API resolves them; validation stays pure).
    public static func validate(_ body: JSONValue, limits: Limits = Limits(),
                                inputs resolved: [String: InputFile] = [:]) throws(ValidationError) -> JobSpec {
        guard case .object(let members) = body else {
            throw ValidationError(field: "(body)", message: "must be a JSON object, got \(body.typeName)")
        }
        for (key, _) in members where !topLevelFields.contains(key) {
            throw ValidationError(field: printable(key), message: "unknown field; allowed: \(topLevelFields.sorted().joined(separator: ", "))")
        }
        let name = try requiredName(body["name"], limits: limits)
        let description = try text(body["description"], field: "description", max: limits.maxDescriptionLength)
        if let s = body["simulator_type"], s != .null {
            guard case .string(let t) = s, t == "gadget4" else {
                throw ValidationError(field: "simulator_type", message: "must be \"gadget4\"")
            }
        }
        var backend = BackendKind.auto
        if let b = body["backend"], b != .null {
            guard case .string(let t) = b, let kind = BackendKind(rawValue: t) else {
                throw ValidationError(field: "backend", message: "must be one of local, slurm, kubernetes, auto")
            }
            backend = kind
        }
        let placement = try placementField(body["scheduler"])
        let inputs = try inputsField(body["inputs"], resolved: resolved)
        if let file = body["parameter_file"], file != .null {
            return try fromParameterFile(file, body: body, name: name, description: description, backend: backend,
                                         placement: placement, inputs: inputs, limits: limits)
        }
        if body["parameter_file_name"] != nil {
            throw ValidationError(field: "parameter_file_name", message: "names a parameter_file, which is not given")
        }
        let resources = try resourcesField(body["resources"], limits: limits)

        // Parameters: the standard box, then convenience fields, then explicit GADGET-4 names.
        let parsed = try parametersField(body["parameters"])
        var given = parsed.0
        let requestedJSON = parsed.1
        func convenience(_ field: String, parameter: String, _ value: ParameterValue) throws(ValidationError) {
            if let explicit = given[parameter], explicit != value, !sameNumber(explicit, value) {
                throw ValidationError(field: field, message: "contradicts parameters.\(parameter) (\(explicit))")
            }
            given[parameter] = value
        }
        if let v = body["num_particles"], v != .null {
            let n = try integer(v, field: "num_particles", range: 1...(16384 * 16384 * 16384))
            let side = Int(cbrt(Double(n)).rounded())
            let root = (max(1, side - 1)...side + 1).first { $0 * $0 * $0 == n }
            guard let root, root <= 16384 else {
                throw ValidationError(field: "num_particles", message: "must be a cube NSample³ (e.g. 32768 = 32³), NSample ≤ 16384; got \(n)")
            }
            try convenience("num_particles", parameter: "NSample", .integer(root))
        }
        if let v = body["box_size"], v != .null {
            let size = try real(v, field: "box_size")
            guard size > 0, size <= 1e6 else {
                throw ValidationError(field: "box_size", message: "must be > 0 and ≤ 1e6 (comoving Mpc/h); got \(size)")
            }
            try convenience("box_size", parameter: "BoxSize", .real(size))
        }
        let timeBegin = body["time_begin"].flatMap { $0 == .null ? nil : $0 }
        let redshift = body["redshift_start"].flatMap { $0 == .null ? nil : $0 }
        if timeBegin != nil && redshift != nil {
            throw ValidationError(field: "redshift_start", message: "give either time_begin or redshift_start, not both")
        }
        if let timeBegin {
            let a = try real(timeBegin, field: "time_begin")
            guard a > 0, a < 1 else { throw ValidationError(field: "time_begin", message: "must be a scale factor in (0, 1); got \(a)") }
            try convenience("time_begin", parameter: "TimeBegin", .real(a))
        }
        if let redshift {
            let z = try real(redshift, field: "redshift_start")
            guard z > 0, z <= 1e4 else { throw ValidationError(field: "redshift_start", message: "must be in (0, 10000]; got \(z)") }
            try convenience("redshift_start", parameter: "TimeBegin", .real(1 / (1 + z)))
        }
        if let v = body["time_max"], v != .null {
            let a = try real(v, field: "time_max")
            guard a > 0, a <= 1 else { throw ValidationError(field: "time_max", message: "must be a scale factor in (0, 1]; got \(a)") }
            try convenience("time_max", parameter: "TimeMax", .real(a))
        }
        var rewrites: [ParameterRewrite] = []
        var particleCount: Int?
        let ics = inputs["InitCondFile"]
        if let ics {
            // The header of uploaded initial conditions fixes the particles, the box and the start.
            let count = ics.particles ?? 0
            if case .integer(let n)? = given["NSample"], n * n * n != count {
                throw ValidationError(field: "num_particles", message: "contradicts the uploaded initial conditions (\(count) particles)")
            }
            given.removeValue(forKey: "NSample")
            if let box = ics.boxSize { try convenience("box_size", parameter: "BoxSize", .real(box)) }
            if let a = ics.time { try convenience("time_begin", parameter: "TimeBegin", .real(a)) }
            particleCount = count
        }
        if case .integer(2)? = given["PowerSpectrumType"], inputs["PowerSpectrumFile"] == nil, ics == nil {
            throw ValidationError(field: "parameters.PowerSpectrumType", message: "2 (a tabulated spectrum) needs the table: upload it (kind=power_spectrum) and name it in inputs.PowerSpectrumFile")
        }

        var values = standardBox
        for (k, v) in given { values[k] = v }
        var nSample: Int = { if case .integer(let n)? = values["NSample"] { return n }; return 128 }()
        if let ics {
            values.removeValue(forKey: "NSample")
            nSample = max(1, Int(cbrt(Double(ics.particles ?? 1)).rounded()))
        } else if given["GridSize"] == nil { values["GridSize"] = .integer(nSample) }
        // PMGRID explicitly: twice the particle grid, as in the reference run.
        if given["PMGRID"] == nil { values["PMGRID"] = .integer(min(16384, max(32, 2 * nSample))) }
        let box = number(values["BoxSize"]) ?? 50
        let softening = softeningPerSpacing * box / Double(nSample)
        if given["SofteningComovingClass0"] == nil { values["SofteningComovingClass0"] = .real(softening) }
        if given["SofteningMaxPhysClass0"] == nil { values["SofteningMaxPhysClass0"] = .real(number(values["SofteningComovingClass0"]) ?? softening) }
        values["TimeLimitCPU"] = .real(Double(resources.wallClockLimit))
        values["MaxMemSize"] = .integer(resources.memoryMB)
        rewrites += applyInputs(inputs, to: &values, given: [:])

        // The same checks g4sim makes (ranges and consistency; the standard box is
        // complete, so nothing can be missing), applied to what differs from it.
        let parameters: ParameterSet
        do {
            if ics != nil {
                parameters = try ParameterSet(file: "job", given: [:]).replacing(values)
            } else {
                var changes: [String: ParameterValue] = [:]
                for (k, v) in values where standardBox[k] != v { changes[k] = v }
                parameters = try standardSet.replacing(changes)
            }
        } catch let error as ParameterFileError {
            let d = error.diagnostics[0]
            throw ValidationError(field: field(forParameter: d.name, given: given), message: d.message)
        } catch {
            throw ValidationError(field: "parameters", message: String(describing: error))
        }
        // g4sim refuses a mesh whose short-range cut-off reaches half the box.
        let mesh = parameters.integer("PMGRID")
        if parameters.real("RCUT") * parameters.real("ASMTH") / Double(mesh) >= 0.5 {
            throw ValidationError(field: "parameters.PMGRID", message: "RCUT·ASMTH/PMGRID must be below 1/2 (the cut-off would exceed half the box); raise PMGRID to at least \(Int((2 * parameters.real("RCUT") * parameters.real("ASMTH")).rounded(.down)) + 1)")
        }

        let outputTimes = try outputTimesField(body["output_times"], list: inputs["OutputListFilename"], parameters: parameters, limits: limits)
        return JobSpec(name: name, description: description, simulatorType: "gadget4", parameters: parameters,
                       outputTimes: outputTimes, resources: resources, placement: placement, backend: backend,
                       requestParametersJSON: requestedJSON, rewrites: rewrites, particleCount: particleCount)
    }

    // MARK: Fields

    /// The `parameters` object: GADGET-4 names with typed values, and the
    /// object again as canonical JSON (shown in listings).
    static func parametersField(_ p: JSONValue?) throws(ValidationError) -> ([String: ParameterValue], String) {
        var given: [String: ParameterValue] = [:]
        var requested = JSONWriter(capacity: 256)
        requested.beginObject()
        if let p, p != .null {
            guard case .object(let params) = p else {
                throw ValidationError(field: "parameters", message: "must be an object of GADGET-4 parameter names, got \(p.typeName)")
            }
            for (key, value) in params {
                let field = "parameters.\(printable(key))"
                guard let spec = ParameterTable.spec(named: key) else {
                    throw ValidationError(field: field, message: "unknown GADGET-4 parameter" + suggestion(key))
                }
                if let why = serviceControlled[key] { throw ValidationError(field: field, message: why) }
                let typed = try parameterValue(value, spec: spec, field: field)
                given[key] = typed
                requested.key(escaping: key)
                switch typed {
                case .integer(let i): requested.int(i)
                case .real(let d): requested.double(d)
                case .string(let s): requested.string(s)
                }
            }
        }
        requested.endObject()
        return (given, requested.text)
    }

    /// Letters, digits, space and `_ - . , : + @ =`; no leading dot, dash or
    /// space. Names end up in file names, logs and scheduler job names, so
    /// newlines, path separators and shell metacharacters are refused.
    public static func requiredName(_ value: JSONValue?, limits: Limits) throws(ValidationError) -> String {
        guard let value, value != .null else { throw ValidationError(field: "name", message: "is required") }
        guard case .string(let s) = value else { throw ValidationError(field: "name", message: "must be a string, got \(value.typeName)") }
        guard !s.isEmpty, s.count <= limits.maxNameLength else {
            throw ValidationError(field: "name", message: "must have 1 to \(limits.maxNameLength) characters")
        }
        let extra: Set<Character> = [" ", "_", "-", ".", ",", ":", "+", "@", "="]
        for c in s where !(c.isLetter || c.isNumber || extra.contains(c)) {
            let shown = c.unicodeScalars.allSatisfy({ $0.properties.generalCategory == .control || $0.value < 0x20 })
                ? "U+" + String(c.unicodeScalars.first!.value, radix: 16, uppercase: true) : "'\(c)'"
            throw ValidationError(field: "name", message: "contains \(shown); allowed: letters, digits, space and _ - . , : + @ =")
        }
        if let first = s.first, first == "." || first == "-" || first == " " {
            throw ValidationError(field: "name", message: "must not start with '\(first)'")
        }
        if s.last == " " { throw ValidationError(field: "name", message: "must not end with a space") }
        return s
    }

    static func text(_ value: JSONValue?, field: String, max: Int) throws(ValidationError) -> String {
        guard let value, value != .null else { return "" }
        guard case .string(let s) = value else { throw ValidationError(field: field, message: "must be a string, got \(value.typeName)") }
        guard s.count <= max else { throw ValidationError(field: field, message: "must have at most \(max) characters") }
        if s.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7F }) {
            throw ValidationError(field: field, message: "contains control characters")
        }
        return s
    }

    static func resourcesField(_ value: JSONValue?, limits: Limits) throws(ValidationError) -> Resources {
        var r = Resources()
        guard let value, value != .null else { return r }
        guard case .object(let members) = value else {
            throw ValidationError(field: "resources", message: "must be an object, got \(value.typeName)")
        }
        for (key, v) in members {
            let field = "resources.\(printable(key))"
            switch key {
            case "ranks": r.ranks = try integer(v, field: field, range: 1...limits.maxRanks)
            case "nodes": r.nodes = try integer(v, field: field, range: 1...limits.maxNodes)
            case "wall_clock_limit": r.wallClockLimit = try integer(v, field: field, range: limits.minWallClock...limits.maxWallClock)
            case "memory_mb": r.memoryMB = try integer(v, field: field, range: 16...limits.maxMemoryMB)
            default:
                throw ValidationError(field: field, message: "unknown field; allowed: \(resourceFields.sorted().joined(separator: ", "))")
            }
        }
        if r.nodes > r.ranks { throw ValidationError(field: "resources.nodes", message: "exceeds resources.ranks (\(r.ranks))") }
        return r
    }

    /// Where a batch scheduler should put the job: words only (they become
    /// `#SBATCH` values). Whether the user may use them is the backend's check.
    static func placementField(_ value: JSONValue?) throws(ValidationError) -> Placement {
        var p = Placement()
        guard let value, value != .null else { return p }
        guard case .object(let members) = value else {
            throw ValidationError(field: "scheduler", message: "must be an object, got \(value.typeName)")
        }
        for (key, v) in members {
            let field = "scheduler.\(printable(key))"
            guard schedulerFields.contains(key) else {
                throw ValidationError(field: field, message: "unknown field; allowed: \(schedulerFields.sorted().joined(separator: ", "))")
            }
            if v == .null { continue }
            guard case .string(let word) = v, isSafeWord(word) else {
                throw ValidationError(field: field, message: "must be a name of letters, digits, _ - . (at most 64)")
            }
            switch key {
            case "partition": p.partition = word
            case "account": p.account = word
            default: p.qos = word
            }
        }
        return p
    }

    static func outputTimesField(_ value: JSONValue?, list: InputFile? = nil, parameters: ParameterSet,
                                 limits: Limits) throws(ValidationError) -> [Double] {
        let begin = parameters.real("TimeBegin"), end = parameters.real("TimeMax")
        if let list {
            if let value, value != .null {
                throw ValidationError(field: "output_times", message: "give either output_times or inputs.OutputListFilename, not both")
            }
            // As g4sim reads its list: times outside the run are left out.
            let times = try OutputListText.times(list.text ?? "", file: "upload \(list.id)")
                .filter { $0 >= begin * (1 - 1e-12) && $0 <= end * (1 + 1e-12) }.sorted()
            guard !times.isEmpty, times.count <= limits.maxOutputTimes else {
                throw ValidationError(field: "inputs.OutputListFilename", message: "must list 1 to \(limits.maxOutputTimes) scale factors between TimeBegin (\(begin)) and TimeMax (\(end))")
            }
            return times
        }
        guard let value, value != .null else {
            // The example's list within the run, and always the final time.
            var times = standardOutputTimes.filter { $0 > begin && $0 < end * (1 - 1e-9) }
            times.append(end)
            return times
        }
        guard case .array(let items) = value, !items.isEmpty, items.count <= limits.maxOutputTimes else {
            throw ValidationError(field: "output_times", message: "must be an array of 1 to \(limits.maxOutputTimes) scale factors")
        }
        var times: [Double] = []
        for (n, item) in items.enumerated() {
            let a = try real(item, field: "output_times[\(n)]")
            guard a >= begin, a <= end else {
                throw ValidationError(field: "output_times[\(n)]", message: "must lie between TimeBegin (\(begin)) and TimeMax (\(end)); got \(a)")
            }
            times.append(a)
        }
        return times.sorted()
    }

    // MARK: Values

    static func parameterValue(_ value: JSONValue, spec: ParameterSpec, field: String) throws(ValidationError) -> ParameterValue {
        let typed: ParameterValue
        switch (spec.kind, value) {
        case (.string, .string(let s)): typed = .string(s)
        case (.integer, _), (.flag, _):
            if case .bool(let b) = value, spec.kind == .flag { typed = .integer(b ? 1 : 0); break }
            typed = .integer(try integer(value, field: field, range: Int.min...Int.max))
        case (.real, _): typed = .real(try real(value, field: field))
        default: throw ValidationError(field: field, message: "must be \(spec.allowed), got \(value.typeName)")
        }
        if spec.kind == .string, case .string(let s) = typed, !isSafeWord(s) {
            throw ValidationError(field: field, message: "must be a word of letters, digits, _ - . (no paths)")
        }
        switch spec.check(typed) {
        case .success(let v): return v
        case .failure(let p): throw ValidationError(field: field, message: "\(p.reason); allowed: \(spec.allowed)")
        }
    }

    public static func isSafeWord(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.first != "." && s.first != "-"
            && s.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_-.".unicodeScalars.contains($0)) }
    }

    /// An integer: digits, or an integral number such as 1e6 (below 2^53).
    static func integer(_ value: JSONValue, field: String, range: ClosedRange<Int>) throws(ValidationError) -> Int {
        let allowed = range.lowerBound == Int.min ? "an integer" : "an integer from \(range.lowerBound) to \(range.upperBound)"
        switch value {
        case .number(let text):
            if let i = Int(text) {
                guard range.contains(i) else { throw ValidationError(field: field, message: "must be \(allowed); got \(text)") }
                return i
            }
            if let d = Double(text), d.isFinite, d == d.rounded(), abs(d) < 9.0e15 {
                let i = Int(d)
                guard range.contains(i) else { throw ValidationError(field: field, message: "must be \(allowed); got \(text)") }
                return i
            }
            throw ValidationError(field: field, message: "must be \(allowed); got \(text.prefix(40))")
        case .nonFinite(let t): throw ValidationError(field: field, message: "must be \(allowed), not \(t)")
        default: throw ValidationError(field: field, message: "must be \(allowed), got \(value.typeName)")
        }
    }

    /// A finite real number.
    static func real(_ value: JSONValue, field: String) throws(ValidationError) -> Double {
        switch value {
        case .number(let text):
            guard let d = Double(text), d.isFinite else {
                throw ValidationError(field: field, message: "must be a finite number; got \(text.prefix(40))")
            }
            return d
        case .nonFinite(let t): throw ValidationError(field: field, message: "must be a finite number, not \(t)")
        default: throw ValidationError(field: field, message: "must be a number, got \(value.typeName)")
        }
    }

    static func number(_ v: ParameterValue?) -> Double? {
        switch v {
        case .real(let d)?: d
        case .integer(let i)?: Double(i)
        default: nil
        }
    }

    static func sameNumber(_ a: ParameterValue, _ b: ParameterValue) -> Bool {
        guard let x = number(a), let y = number(b) else { return false }
        return x == y || abs(x - y) <= 1e-12 * max(abs(x), abs(y))
    }

    /// The request field that set a parameter (a convenience field or `parameters.NAME`).
    static func field(forParameter name: String, given: [String: ParameterValue]) -> String {
        "parameters.\(name)"
    }

    static func suggestion(_ name: String) -> String {
        guard name.count <= 64 else { return "" }
        let lower = name.lowercased()
        if let match = ParameterTable.gadget4.first(where: { $0.name.lowercased() == lower }) {
            return " (did you mean \(match.name)? names are case-sensitive)"
        }
        return ""
    }

    /// A field name safe to echo back (control characters escaped, length capped).
    public static func printable(_ key: String) -> String {
        var out = ""
        for u in key.unicodeScalars.prefix(64) {
            if u.value < 0x20 || u.value == 0x7F { out += "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
        }
        return out
    }
}
