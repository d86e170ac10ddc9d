import ArgumentParser
import Foundation
import Hummingbird
import JobStore
import Jobs
import Logging
import NIOCore
import NIOPosix
import Scheduling
import ServiceLifecycle
import ServiceSetup
import SubmissionAPI
import Sync

/// The process entry: Swift concurrency's global executor becomes NIO's event
/// loops before anything runs, so a request's handler continues on the loop that
/// owns its connection instead of hopping to the cooperative pool and back (the
/// hops were a fifth of a cached GET's cost). Request handlers must therefore not
/// block: store reads are short, store writes run on the database's queue and file
/// work on NIO's blocking pool (`offloaded`).
@main
enum Entry {
    static func main() {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        // The main thread serves the main actor (the argument parser runs there).
        Task {
            await G4API.main()
            exit(0)
        }
        dispatchMain()
    }
}

/// The REST submission service and its admin commands.
struct G4API: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "g4api",
        abstract: "The g4 submission service: REST API and job store, with the sync loops in-process unless g4sync runs them.",
        discussion: "Settings come from environment variables (or --config FILE):\n"
            + ServiceConfiguration.known.sorted(by: { $0.key < $1.key }).map { "  \($0.key): \($0.value)" }.joined(separator: "\n"),
        subcommands: [Serve.self, Token.self], defaultSubcommand: Serve.self)
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "A file of NAME=value lines (environment variables override it).")
    var config: String?
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the API and run the sync loops SYNC names (the default).")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try ServiceConfiguration(file: options.config)
        let logger = JSONLogHandler.bootstrap(label: "g4api", level: config.logLevel)
        let components = try await ServiceComponents.build(config, logger: logger)
        let sync = try components.syncService(defaultRoles: [.submit, .watch], logger: Logger(label: "g4.sync"))
        var settings = SubmissionService.Settings()
        settings.corsOrigins = config.corsOrigins
        settings.uploadsDirectory = config.uploadsDirectory
        settings.maxUploadBytes = try config.maxUploadBytes()
        settings.maxSweepPoints = try config.positiveInteger("SWEEP_MAX_POINTS", default: 100)
        settings.g4sim = config.g4sim
        settings.plotCacheDirectory = config.resultsDirectory.appendingPathComponent(".plot-cache", isDirectory: true)
        let metrics = APIMetrics()
        if let sync { metrics.extraSamples = { sync.metricSamples() } }
        let service = SubmissionService(store: components.store, registry: components.registry, settings: settings,
                                        metrics: metrics, notify: { sync?.wake() })
        let port = try config.port()
        let app = service.buildApplication(host: config.host, port: port, logger: logger)
        logger.info("g4api starting", metadata: [
            "host": "\(config.host)", "port": "\(port)", "database": "\(Self.redacted(config.databaseURL))",
            "backends": "\(components.registry.kinds.map(\.rawValue).joined(separator: ","))",
            "default_backend": "\(components.registry.defaultKind.rawValue)",
            "sync": "\(config.values["SYNC"] ?? "submit,watch")",
        ])
        // Shut down in reverse order on SIGTERM/SIGINT: the server stops accepting and finishes
        // in-flight requests, then the sync loops stop. Running jobs keep running (own sessions,
        // or the scheduler's); the next g4api or g4sync re-attaches to them.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let sync {
            services.append(.init(service: SyncLoops(sync: sync), serviceName: "sync"))
        } else {
            logger.warning("no sync loops in this process (SYNC=none): jobs are stored but started and followed elsewhere")
        }
        services.append(.init(service: app, serviceName: "http"))
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try await components.store.close()
        logger.info("g4api stopped")
    }

    static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.password != nil else { return url }
        c.password = "***"
        return c.string ?? url
    }
}

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage API tokens.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a bearer token for a user; the token is the last line of the output (shown only once).")
        @OptionGroup var options: ConfigOption
        @Option(help: "The user the token belongs to.") var user: String
        @Flag(help: "The token may see and cancel every user's jobs.") var admin = false

        func validate() throws {
            guard (1...64).contains(user.count),
                  user.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-@".contains($0)) }) else {
                throw ValidationError("--user must be 1 to 64 characters of letters, digits, _ . - @")
            }
        }

        func run() async throws {
            let config = try ServiceConfiguration(file: options.config)
            var logger = Logger(label: "g4api.token")
            logger.logLevel = .warning
            let store = try await ServiceComponents.openStore(config, logger: logger)
            let token = APIToken.generate()
            try await store.insertToken(hash: APIToken.hash(token), user: user, admin: admin)
            try await store.close()
            print("created \(admin ? "an admin" : "a") token for user \(user) (stored as its SHA-256 only; keep it now):")
            print(token)
        }
    }
}
