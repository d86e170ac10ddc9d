import Foundation

/// What a site says about running g4sim on its cluster (SLURM_SITE_CONFIG):
/// default partition, account and QoS, a constraint, modules to load, shell
/// lines that set up the environment, extra `#SBATCH` directives, and how to
/// launch MPI. The file is the administrator's, so its shell lines are
/// trusted; everything a job brings is validated before it reaches the
/// script. Format: `key = value` lines, `#` comments; `module`, `setup` and
/// `directive` may repeat.
public struct SiteConfiguration: Sendable, Equatable {
    public enum Launcher: String, Sendable {
        /// `srun --mpi=<mpi> g4sim ...` (Slurm starts the ranks).
        case srun
        /// `mpirun -np N g4sim ...` inside the allocation.
        case mpirun
    }

    public var partition: String?
    public var account: String?
    public var qos: String?
    public var constraint: String?
    public var modules: [String] = []
    public var setup: [String] = []
    public var directives: [String] = []
    public var launcher: Launcher = .srun
    /// srun's `--mpi` plugin (Debian's Open MPI 4.1 works under srun through PMIx).
    public var mpi = "pmix"
    /// `--signal=B:USR1@<lead>`: seconds before the time limit at which the
    /// solver is asked to write restart files and stop (at most a third of
    /// the job's limit).
    public var signalLeadSeconds = 300
    /// The template file (default: templates/slurm/g4sim.sbatch.mustache).
    public var template: String?

    public init() {}

    public static func load(_ path: String) throws -> SiteConfiguration {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SiteConfigurationError("cannot read the Slurm site file \(path)")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws -> SiteConfiguration {
        var site = SiteConfiguration()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let at = "\(file):\(n + 1)"
            guard let eq = line.firstIndex(of: "=") else { throw SiteConfigurationError("\(at): expected key = value") }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            func word() throws -> String? {
                if value.isEmpty { return nil }
                guard isWord(value) else { throw SiteConfigurationError("\(at): \(key) must be a name of letters, digits, _ - . (got \(value))") }
                return value
            }
            switch key {
            case "partition": site.partition = try word()
            case "account": site.account = try word()
            case "qos": site.qos = try word()
            case "constraint":
                guard value.allSatisfy({ $0.isLetter || $0.isNumber || "_-.&|[]*,".contains($0) }) else {
                    throw SiteConfigurationError("\(at): constraint has characters Slurm's --constraint does not take")
                }
                site.constraint = value.isEmpty ? nil : value
            case "module":
                guard !value.isEmpty, value.allSatisfy({ $0.isLetter || $0.isNumber || "_-./+@".contains($0) }) else {
                    throw SiteConfigurationError("\(at): module must be a module name such as openmpi/4.1.4")
                }
                site.modules.append(value)
            case "setup": site.setup.append(value)
            case "directive":
                guard value.hasPrefix("--"), !value.contains("\n") else {
                    throw SiteConfigurationError("\(at): directive must be one sbatch option starting with -- (e.g. --exclusive)")
                }
                site.directives.append(value)
            case "launcher":
                guard let l = Launcher(rawValue: value) else { throw SiteConfigurationError("\(at): launcher must be srun or mpirun") }
                site.launcher = l
            case "mpi":
                guard let w = try word() else { throw SiteConfigurationError("\(at): mpi needs a plugin name (pmix, pmi2)") }
                site.mpi = w
            case "signal_lead_seconds":
                guard let s = Int(value), s >= 10 else { throw SiteConfigurationError("\(at): signal_lead_seconds must be an integer ≥ 10") }
                site.signalLeadSeconds = s
            case "template": site.template = value
            default:
                throw SiteConfigurationError("\(at): unknown key \(key); known: partition, account, qos, constraint, module, setup, directive, launcher, mpi, signal_lead_seconds, template")
            }
        }
        return site
    }

    static func isWord(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.first != "-" && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }
}

public struct SiteConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
