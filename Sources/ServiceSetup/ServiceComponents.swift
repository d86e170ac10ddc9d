import Foundation
import JobStore
import Jobs
import Logging
import Scheduling
import Sync

/// What g4api and g4sync are made of, built from one configuration in one
/// place: the store DATABASE_URL names, the configured backends (and what
/// `auto` means), and the sync loops' settings. The tests build the same way.
public struct ServiceComponents: Sendable {
    public let configuration: ServiceConfiguration
    public let store: any JobStorage
    public let registry: BackendRegistry
    public let syncSettings: SyncSettings
    public let policy: EndingPolicy

    public static func build(_ configuration: ServiceConfiguration, logger: Logger) async throws -> ServiceComponents {
        let registry = try await backends(configuration, logger: logger)
        var settings = SyncSettings()
        settings.pollSeconds[.local] = try configuration.seconds("LOCAL_POLL_SECONDS", default: 0.5, minimum: 0.05)
        settings.pollSeconds[.slurm] = try configuration.seconds("SLURM_POLL_SECONDS", default: 15, minimum: 0.2)
        let policy = EndingPolicy(maxAttempts: try configuration.positiveInteger("MAX_ATTEMPTS", default: 5))
        let store = try await openStore(configuration, logger: logger)
        return ServiceComponents(configuration: configuration, store: store, registry: registry, syncSettings: settings, policy: policy)
    }

    /// The sync loops this process runs (SYNC; `defaultRoles` when unset).
    public func syncService(defaultRoles: Set<SyncService.Role>, logger: Logger) throws -> SyncService? {
        let roles = try Self.roles(configuration, default: defaultRoles)
        guard !roles.isEmpty else { return nil }
        return SyncService(store: store, backends: registry.all, roles: roles, settings: syncSettings, policy: policy, logger: logger)
    }

    static func roles(_ configuration: ServiceConfiguration, default roles: Set<SyncService.Role>) throws -> Set<SyncService.Role> {
        guard configuration.values["SYNC"] != nil else { return roles }
        let items = configuration.list("SYNC")
        if items == ["none"] || items == ["off"] { return [] }
        var out = Set<SyncService.Role>()
        for item in items {
            guard let role = SyncService.Role(rawValue: item) else {
                throw ConfigurationError("SYNC must be submit, watch, both (submit,watch) or none; got \(item)")
            }
            out.insert(role)
        }
        return out
    }

    /// Opens the store DATABASE_URL names.
    public static func openStore(_ configuration: ServiceConfiguration, logger: Logger) async throws -> any JobStorage {
        let url = configuration.databaseURL
        if url.hasPrefix("sqlite:///") {
            // SQLAlchemy's convention: three slashes and a relative path, four for an absolute one.
            let path = String(url.dropFirst("sqlite:///".count))
            guard !path.isEmpty else { throw ConfigurationError("DATABASE_URL \(url) names no file") }
            return try SQLiteJobRepository(path: path)
        }
        if url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") {
            return try await PostgresJobRepository(url: url, logger: logger)
        }
        throw ConfigurationError("DATABASE_URL must start with sqlite:/// or postgresql://, got \(url)")
    }

    /// The backends BACKENDS names, in order; DEFAULT_BACKEND (or the first) is `auto`.
    public static func backends(_ configuration: ServiceConfiguration, logger: Logger) async throws -> BackendRegistry {
        let names = configuration.list("BACKENDS").isEmpty ? ["local"] : configuration.list("BACKENDS")
        var backends: [any Backend] = []
        for name in names {
            switch BackendKind(rawValue: name) {
            case .local?:
                let results = configuration.resultsDirectory
                try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
                let local = LocalBackend(.init(resultsDirectory: results, g4sim: configuration.g4sim, mpirun: configuration.mpirun,
                                               slots: try configuration.slots(), gracePeriod: try configuration.grace()),
                                         logger: Logger(label: "g4.backend.local"))
                if !FileManager.default.isExecutableFile(atPath: local.configuration.g4sim) {
                    logger.warning("g4sim not found; local jobs will fail to start", metadata: ["g4sim": "\(local.configuration.g4sim)"])
                }
                backends.append(local)
            case .slurm?:
                backends.append(try await slurmBackend(configuration, logger: logger))
            default:
                throw ConfigurationError("BACKENDS: unknown or not yet available backend \(name); available: local, slurm")
            }
        }
        var defaultKind: BackendKind?
        if let name = configuration.values["DEFAULT_BACKEND"] {
            guard let kind = BackendKind(rawValue: name), kind != .auto, backends.contains(where: { $0.kind == kind }) else {
                throw ConfigurationError("DEFAULT_BACKEND must be one of BACKENDS (\(names.joined(separator: ", "))), got \(name)")
            }
            defaultKind = kind
        }
        return BackendRegistry(backends, defaultKind: defaultKind)
    }

    /// The Slurm backend from the SLURM_* settings and the site file.
    static func slurmBackend(_ c: ServiceConfiguration, logger: Logger) async throws -> SlurmBackend {
        let site = try c.values["SLURM_SITE_CONFIG"].map(SiteConfiguration.load) ?? SiteConfiguration()
        let template = site.template ?? c.templatePath("slurm/g4sim.sbatch.mustache")
        let jobs = URL(fileURLWithPath: c.values["SLURM_JOBS_DIR"] ?? c.resultsDirectory.path, isDirectory: true).standardizedFileURL
        try FileManager.default.createDirectory(at: jobs, withIntermediateDirectories: true)
        let user = c.values["SLURM_USER"] ?? currentUser()
        let client = SlurmCommandLine(conf: c.values["SLURM_CONF"], binDirectory: c.values["SLURM_BIN_DIR"],
                                      timeout: .seconds(try c.seconds("SLURM_COMMAND_TIMEOUT", default: 60, minimum: 1)))
        let g4sim = c.values["SLURM_G4SIM"] ?? c.g4sim
        return try SlurmBackend(.init(jobsDirectory: jobs, g4sim: g4sim, user: user, site: site), client: client,
                                script: try BatchScript(templatePath: template), logger: Logger(label: "g4.backend.slurm"))
    }

    static func currentUser() -> String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return ProcessInfo.processInfo.userName }
        return String(cString: name)
    }
}
