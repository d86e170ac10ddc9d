import Cosmology
import Foundation
import Parallel
import Parameters
import Simulation
import Snapshots

/// Everything a run derives from its parameter file before the first step:
/// units, cosmology, the mesh, the integrator settings and the output times.
struct RunSetup {
    let parameters: ParameterSet
    let units: UnitSystem
    let background: Background
    let gravitationalConstant: Double
    let boxSize: Double
    let outputDirectory: String
    let outputTimes: [Double]

    init(parameters: ParameterSet) throws {
        self.parameters = parameters
        units = UnitSystem(lengthInCm: parameters.real("UnitLength_in_cm"), massInG: parameters.real("UnitMass_in_g"),
                           velocityInCmPerS: parameters.real("UnitVelocity_in_cm_per_s"))
        background = Background(omegaMatter: parameters.real("Omega0"), omegaLambda: parameters.real("OmegaLambda"),
                                hubble0: parameters.real("Hubble"))
        let g = parameters.real("GravityConstantInternal")
        gravitationalConstant = g > 0 ? g : units.gravitationalConstant
        boxSize = parameters.real("BoxSize")
        var dir = parameters.string("OutputDir")
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        outputDirectory = dir
        outputTimes = try Self.outputTimes(parameters)
    }

    /// GADGET-4's output times: the list file (OutputListOn 1), or
    /// TimeOfFirstSnapshot multiplied by TimeBetSnapshot until TimeMax.
    static func outputTimes(_ p: ParameterSet) throws -> [Double] {
        let begin = p.real("TimeBegin"), end = p.real("TimeMax")
        var times: [Double] = []
        if p.integer("OutputListOn") == 1 {
            let path = p.string("OutputListFilename")
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw RunError("OutputListFilename \(path) cannot be read (paths are relative to the working directory)")
            }
            for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard let first = fields.first, !first.hasPrefix("%"), !first.hasPrefix("#") else { continue }
                guard let a = Double(first), a.isFinite, a > 0 else {
                    throw RunError("\(path):\(n + 1): '\(first)' is not a scale factor")
                }
                // A second column 0 means "no snapshot here" in GADGET-4.
                if fields.count > 1, let flag = Int(fields[1]), flag == 0 { continue }
                times.append(a)
            }
        } else {
            let factor = p.real("TimeBetSnapshot")
            var a = p.real("TimeOfFirstSnapshot")
            guard factor > 1 else { throw RunError("TimeBetSnapshot must exceed 1 when OutputListOn is 0 (it multiplies the scale factor)") }
            while a <= end * (1 + 1e-12) {
                times.append(a)
                a *= factor
            }
        }
        return times.filter { $0 >= begin * (1 - 1e-12) && $0 <= end * (1 + 1e-12) }.sorted()
    }

    /// PMGRID, or by default twice the particle grid (as the reference run uses).
    func meshSize(totalParticles: Int) -> Int {
        if let n = parameters.optionalInteger("PMGRID") { return n }
        return 2 * Int(Double(totalParticles).squareRoot().squareRoot().squareRoot().rounded(.up))
    }

    var integratorSettings: IntegratorSettings {
        var s = IntegratorSettings()
        s.errTolIntAccuracy = parameters.real("ErrTolIntAccuracy")
        s.maxSizeTimestep = parameters.real("MaxSizeTimestep")
        s.minSizeTimestep = parameters.real("MinSizeTimestep")
        s.softeningComoving = parameters.real("SofteningComovingClass0")
        s.softeningMaxPhysical = parameters.real("SofteningMaxPhysClass0")
        s.errTolForceAcc = parameters.real("ErrTolForceAcc")
        s.errTolTheta = parameters.real("ErrTolTheta")
        s.errTolThetaMax = parameters.real("ErrTolThetaMax")
        s.relativeOpeningCriterion = parameters.integer("TypeOfOpeningCriterion") == 1
        s.activePartFracForNewDomainDecomp = parameters.real("ActivePartFracForNewDomainDecomp")
        s.topNodeFactor = parameters.real("TopNodeFactor")
        return s
    }

    /// The parameters as a snapshot's /Parameters and /Config attributes.
    var parameterAttributes: [Attribute] {
        parameters.runtimeValues().map { name, value in
            switch value {
            case .integer(let v): .scalar(name, Int32(clamping: v))
            case .real(let v): .scalar(name, v)
            case .string(let s): .string(name, s)
            }
        }
    }

    var configAttributes: [Attribute] {
        parameters.configValues().map { name, value in
            switch value {
            case nil: .string(name, "")
            case .integer(let v)?: .scalar(name, Double(v))
            case .real(let v)?: .scalar(name, v)
            case .string(let s)?: .string(name, s)
            }
        }
    }
}

/// A problem with a run's inputs, said so that the user can fix it.
struct RunError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
