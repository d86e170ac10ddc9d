import Foundation

/// What an uploaded file is for. Each kind stands for one GADGET-4 parameter
/// that names a file, which a job sets by naming the upload in `inputs`.
public enum InputKind: String, Sendable, CaseIterable {
    /// Initial conditions (InitCondFile): GADGET-4 HDF5 or GADGET format 1.
    case initialConditions = "ics"
    /// Output times (OutputListFilename): one scale factor per line.
    case outputList = "output_list"
    /// A tabulated linear spectrum (PowerSpectrumFile, PowerSpectrumType 2).
    case powerSpectrum = "power_spectrum"

    /// The parameter a job's `inputs` names this kind under.
    public var parameter: String {
        switch self {
        case .initialConditions: "InitCondFile"
        case .outputList: "OutputListFilename"
        case .powerSpectrum: "PowerSpectrumFile"
        }
    }

    public static func forParameter(_ name: String) -> InputKind? { allCases.first { $0.parameter == name } }
}

/// The file format of initial conditions, as ICFormat numbers it.
public enum InitialConditionsFormat: String, Sendable, CaseIterable {
    case hdf5, gadget1

    public var icFormat: Int { self == .hdf5 ? 3 : 1 }
}

/// An upload resolved for a job (it exists, belongs to the submitter, passed
/// its check): where the solver finds it and what the check read from it.
public struct InputFile: Sendable, Equatable {
    public var id: String
    public var kind: InputKind
    public var format: InitialConditionsFormat?
    /// The value for the parameter: for HDF5 initial conditions the name
    /// without `.hdf5`, as GADGET-4's InitCondFile is written.
    public var parameterValue: String
    public var sha256: String
    /// Initial conditions: particles, box size and scale factor from the header.
    public var particles: Int?
    public var boxSize: Double?
    public var time: Double?
    /// Output lists: the text (small; the service parses it as g4sim does).
    public var text: String?

    public init(id: String, kind: InputKind, format: InitialConditionsFormat? = nil, parameterValue: String, sha256: String,
                particles: Int? = nil, boxSize: Double? = nil, time: Double? = nil, text: String? = nil) {
        self.id = id
        self.kind = kind
        self.format = format
        self.parameterValue = parameterValue
        self.sha256 = sha256
        self.particles = particles
        self.boxSize = boxSize
        self.time = time
        self.text = text
    }
}

/// GADGET-4's output list file, read as g4sim reads it: the first number on
/// each line is a scale factor; lines starting with % or # are comments; a
/// second column 0 means "no output here".
public enum OutputListText {
    public static func times(_ text: String, file: String) throws(ValidationError) -> [Double] {
        var times: [Double] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = fields.first, !first.hasPrefix("%"), !first.hasPrefix("#") else { continue }
            guard let a = Double(first), a.isFinite, a > 0 else {
                throw ValidationError(field: "inputs.OutputListFilename", message: "\(file):\(n + 1): '\(first.prefix(40))' is not a scale factor")
            }
            if fields.count > 1, let flag = Int(fields[1]), flag == 0 { continue }
            times.append(a)
        }
        guard !times.isEmpty else {
            throw ValidationError(field: "inputs.OutputListFilename", message: "\(file): lists no scale factor")
        }
        return times
    }
}
