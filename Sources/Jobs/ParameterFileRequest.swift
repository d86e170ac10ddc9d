import Foundation
import Parameters

/// Submissions of a GADGET-4 parameter file as users already have it
/// (`parameter_file` in the JSON body, or the file itself as text/plain).
///
/// The file is read by the same parser and table as `g4sim params check`, so
/// a wrong file gets the same `file:line` messages. What the service controls
/// is rewritten and the rewrite recorded with the job: the output directory,
/// the files it names (initial conditions, output list, spectrum table),
/// which must be uploads of the submitter's, and the run-time limits, which
/// come from `resources` (or, when `resources` leaves them out, from the
/// file's TimeLimitCPU and MaxMemSize).
extension JobRequest {
    /// Request fields that say what the file says; given together with a file they would contradict it.
    static let fileOwnedFields: [String: String] = [
        "num_particles": "NSample (or the uploaded initial conditions)", "box_size": "BoxSize", "time_begin": "TimeBegin",
        "redshift_start": "TimeBegin", "time_max": "TimeMax",
    ]

    static func fromParameterFile(_ file: JSONValue, body: JSONValue, name: String, description: String, backend: BackendKind,
                                  placement: Placement, inputs: [String: InputFile], limits: Limits) throws(ValidationError) -> JobSpec {
        guard case .string(let text) = file else {
            throw ValidationError(field: "parameter_file", message: "must be the text of a GADGET-4 parameter file, got \(file.typeName)")
        }
        let fileName = try parameterFileName(body["parameter_file_name"])
        for (field, parameter) in fileOwnedFields.sorted(by: { $0.key < $1.key }) where body[field].map({ $0 != .null }) == true {
            throw ValidationError(field: field, message: "cannot be combined with parameter_file; set \(parameter) in the file, or in parameters")
        }
        let set: ParameterSet
        do {
            set = try ParameterFile.parse(text, file: fileName)
        } catch let error as ParameterFileError {
            throw ValidationError(field: "parameter_file", message: error.description, details: error.diagnostics.map(\.description))
        } catch {
            throw ValidationError(field: "parameter_file", message: String(describing: error))
        }
        func line(_ parameter: String) -> String { set.lines[parameter].map { "\(fileName):\($0)" } ?? fileName }

        let parsed = try parametersField(body["parameters"])
        var values = set.given
        for (k, v) in parsed.0 { values[k] = v }

        // Limits: the request's resources, else the file's values.
        var resources = try resourcesField(body["resources"], limits: limits)
        let requested: Set<String> = {
            guard case .object(let m)? = body["resources"] else { return [] }
            return Set(m.map(\.0))
        }()
        if !requested.contains("wall_clock_limit"), let seconds = number(values["TimeLimitCPU"]) {
            let s = Int(seconds.rounded())
            guard (limits.minWallClock...limits.maxWallClock).contains(s) else {
                throw ValidationError(field: "parameter_file", message: "\(line("TimeLimitCPU")): TimeLimitCPU: \(s) s is outside what this service runs (\(limits.minWallClock) to \(limits.maxWallClock)); lower it or give resources.wall_clock_limit")
            }
            resources.wallClockLimit = s
        }
        if !requested.contains("memory_mb"), case .integer(let mb)? = values["MaxMemSize"] {
            guard (16...limits.maxMemoryMB).contains(mb) else {
                throw ValidationError(field: "parameter_file", message: "\(line("MaxMemSize")): MaxMemSize: \(mb) MB is outside 16 to \(limits.maxMemoryMB); change it or give resources.memory_mb")
            }
            resources.memoryMB = mb
        }

        // What the service controls.
        var rewrites: [ParameterRewrite] = []
        func rewrite(_ parameter: String, _ used: ParameterValue, _ reason: String, upload: String? = nil) {
            let before = values[parameter]
            values[parameter] = used
            if before != used && !(before.map { sameNumber($0, used) } ?? false) {
                rewrites.append(ParameterRewrite(parameter: parameter, given: before?.description, used: used.description,
                                                 reason: reason, uploadID: upload))
            }
        }
        let generates = ParameterSet(file: fileName, given: values).generatesInitialConditions
        if let ics = inputs["InitCondFile"] {
            guard !generates else {
                throw ValidationError(field: "inputs.InitCondFile", message: "the parameter file generates its initial conditions (N-GenIC: NSample, NGENIC); remove the N-GenIC block or the upload")
            }
            let icFormat: Int = { if case .integer(let f)? = values["ICFormat"] { return f }; return 3 }()
            if let format = ics.format, format.icFormat != icFormat {
                throw ValidationError(field: "inputs.InitCondFile", message: "\(line("ICFormat")): ICFormat \(icFormat) does not read upload \(ics.id), which is \(format == .hdf5 ? "HDF5 (ICFormat 3)" : "GADGET format 1 (ICFormat 1)")")
            }
        } else if !generates {
            throw ValidationError(field: "inputs.InitCondFile", message: "\(line("InitCondFile")): the file reads initial conditions (InitCondFile \(values["InitCondFile"]?.description ?? "?")): upload them (POST /api/v1/uploads?kind=ics) and name the upload in inputs.InitCondFile")
        }
        let listOn: Bool = { if case .integer(1)? = values["OutputListOn"] { return true }; return false }()
        if listOn && inputs["OutputListFilename"] == nil && body["output_times"].map({ $0 == .null }) != false {
            throw ValidationError(field: "inputs.OutputListFilename", message: "\(line("OutputListFilename")): OutputListOn is 1, so the run reads OutputListFilename \(values["OutputListFilename"]?.description ?? "?"): upload it (kind=output_list) and name it in inputs.OutputListFilename, or give output_times")
        }
        if generates, case .integer(2)? = values["PowerSpectrumType"], inputs["PowerSpectrumFile"] == nil {
            throw ValidationError(field: "inputs.PowerSpectrumFile", message: "\(line("PowerSpectrumType")): PowerSpectrumType 2 reads PowerSpectrumFile: upload the table (kind=power_spectrum) and name it in inputs.PowerSpectrumFile")
        }
        rewrite("OutputDir", .string("output"), "outputs go to the job's own directory")
        if inputs["InitCondFile"] == nil { rewrite("InitCondFile", .string("./ics"), "generated by the run (N-GenIC); nothing is read") }
        if inputs["PowerSpectrumFile"] == nil, values["PowerSpectrumFile"] != nil {
            rewrite("PowerSpectrumFile", .string("powerspec"), "not read (PowerSpectrumType is not 2)")
        }
        if inputs["OutputListFilename"] == nil {
            rewrite("OutputListFilename", .string("outputs.txt"), listOn ? "written into the job's directory from output_times" : "not read (OutputListOn is 0)")
        }
        rewrite("TimeLimitCPU", .real(Double(resources.wallClockLimit)), "the job's wall-clock limit (resources.wall_clock_limit)")
        rewrite("MaxMemSize", .integer(resources.memoryMB), "the job's memory per rank (resources.memory_mb)")
        let beforeInputs = values
        rewrites += applyInputs(inputs, to: &values, given: beforeInputs)
        if case .string(let base)? = values["SnapshotFileBase"], !isSafeWord(base) {
            throw ValidationError(field: "parameter_file", message: "\(line("SnapshotFileBase")): SnapshotFileBase: must be a word of letters, digits, _ - . (no paths)")
        }

        let parameters: ParameterSet
        do {
            parameters = try ParameterSet(file: fileName, given: [:], lines: set.lines).replacing(values)
        } catch let error as ParameterFileError {
            throw ValidationError(field: "parameter_file", message: error.description, details: error.diagnostics.map(\.description))
        } catch {
            throw ValidationError(field: "parameter_file", message: String(describing: error))
        }
        if let mesh = parameters.optionalInteger("PMGRID"), parameters.real("RCUT") * parameters.real("ASMTH") / Double(mesh) >= 0.5 {
            throw ValidationError(field: "parameter_file", message: "\(line("PMGRID")): PMGRID: RCUT·ASMTH/PMGRID must be below 1/2 (the cut-off would exceed half the box)")
        }
        let outputTimes = listOn || inputs["OutputListFilename"] != nil
            ? try outputTimesField(body["output_times"], list: inputs["OutputListFilename"], parameters: parameters, limits: limits) : []
        return JobSpec(name: name, description: description, simulatorType: "gadget4", parameters: parameters,
                       outputTimes: outputTimes, resources: resources, placement: placement, backend: backend,
                       requestParametersJSON: parsed.1,
                       rewrites: rewrites, particleCount: inputs["InitCondFile"]?.particles)
    }

    /// The name diagnostics give the file (as `g4sim params check NAME` would): a plain file name.
    static func parameterFileName(_ value: JSONValue?) throws(ValidationError) -> String {
        guard let value, value != .null else { return "param.txt" }
        guard case .string(let s) = value, isSafeWord(s), s.count <= 128 else {
            throw ValidationError(field: "parameter_file_name", message: "must be a file name of letters, digits, _ - . (no paths)")
        }
        return s
    }

    /// The `inputs` object: parameter name → upload id, each resolved by the API.
    static func inputsField(_ value: JSONValue?, resolved: [String: InputFile]) throws(ValidationError) -> [String: InputFile] {
        guard let value, value != .null else { return [:] }
        guard case .object(let members) = value else {
            throw ValidationError(field: "inputs", message: "must be an object of parameter name → upload id, got \(value.typeName)")
        }
        var out: [String: InputFile] = [:]
        let allowed = InputKind.allCases.map(\.parameter).joined(separator: ", ")
        for (key, v) in members {
            let field = "inputs.\(printable(key))"
            guard let kind = InputKind.forParameter(key) else {
                throw ValidationError(field: field, message: "names no file parameter; allowed: \(allowed)")
            }
            guard case .string(let id) = v else { throw ValidationError(field: field, message: "must be an upload id (a string), got \(v.typeName)") }
            guard let file = resolved[key], file.id == id else {
                throw ValidationError(field: field, message: "no upload \(printable(id)) of yours (POST /api/v1/uploads, then use its id)")
            }
            guard file.kind == kind else {
                throw ValidationError(field: field, message: "upload \(id) is of kind \(file.kind.rawValue); \(key) takes kind \(kind.rawValue)")
            }
            out[key] = file
        }
        return out
    }

    /// Points the file parameters at their uploads; the rewrites, with what `given` had.
    static func applyInputs(_ inputs: [String: InputFile], to values: inout [String: ParameterValue],
                            given: [String: ParameterValue]) -> [ParameterRewrite] {
        var rewrites: [ParameterRewrite] = []
        for (parameter, file) in inputs.sorted(by: { $0.key < $1.key }) {
            let used: ParameterValue = file.kind == .outputList ? .string("outputs.txt") : .string(file.parameterValue)
            values[parameter] = used
            if let format = file.format { values["ICFormat"] = .integer(format.icFormat) }
            let reason = file.kind == .outputList ? "the uploaded list, written into the job's directory" : "the uploaded file (sha256 \(file.sha256))"
            rewrites.append(ParameterRewrite(parameter: parameter, given: given[parameter]?.description, used: used.description,
                                             reason: reason, uploadID: file.id))
        }
        return rewrites
    }
}
