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
        abstract: "The g4 submission service: REST API, job store and the local backend.",
        discussion: "Settings come from environment variables (or --config FILE):\n"
            + ServiceConfiguration.known.sorted(by: { $0.key < $1.key }).map { "  \($0.key): \($0.value)" }.joined(separator: "\n"),
        subcommands: [Serve.self, Token.self], defaultSubcommand: Serve.self)
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "A file of NAME=value lines (environment variables override it).")
    var config: String?
}

/// Bootstraps JSON-lines logging once per process.
func makeLogger(level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap { label in
        var h = JSONLogHandler(label: label)
        h.logLevel = level
        return h
    }
    return Logger(label: "g4api")
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the API and run the dispatcher (the default).")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try ServiceConfiguration(file: options.config)
        let logger = makeLogger(level: config.logLevel)
        let store = try await config.openStore(logger: logger)
        let results = config.resultsDirectory
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        let backend = LocalBackend(.init(resultsDirectory: results, g4sim: config.g4sim, mpirun: config.mpirun,
                                         slots: try config.slots(), gracePeriod: try config.grace()),
                                   logger: Logger(label: "g4.backend.local"))
        if !FileManager.default.isExecutableFile(atPath: backend.configuration.g4sim) {
            logger.warning("g4sim not found; jobs will fail to start", metadata: ["g4sim": "\(backend.configuration.g4sim)"])
        }
        let dispatcher = Dispatcher(store: store, backends: [backend], logger: Logger(label: "g4.dispatcher"))
        var settings = SubmissionService.Settings()
        settings.corsOrigins = config.corsOrigins
        settings.uploadsDirectory = config.uploadsDirectory
        settings.maxUploadBytes = try config.maxUploadBytes()
        settings.maxSweepPoints = try config.maxSweepPoints()
        settings.g4sim = backend.configuration.g4sim
        settings.plotCacheDirectory = results.appendingPathComponent(".plot-cache", isDirectory: true)
        let service = SubmissionService(store: store, backends: [backend], settings: settings, notify: { dispatcher.wake() })
        let port = try config.port()
        let app = service.buildApplication(host: config.host, port: port, logger: logger)
        logger.info("g4api starting", metadata: [
            "host": "\(config.host)", "port": "\(port)", "database": "\(Self.redacted(config.databaseURL))",
            "results": "\(results.path)", "g4sim": "\(backend.configuration.g4sim)", "slots": "\(backend.configuration.slots)",
        ])
        // Shut down in reverse order on SIGTERM/SIGINT: the server stops accepting and finishes
        // in-flight requests, then the dispatcher stops. Running jobs keep running (own sessions);
        // the next g4api re-attaches to them.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if config.dispatcherEnabled {
            services.append(.init(service: DispatcherService(dispatcher: dispatcher), serviceName: "dispatcher"))
        } else {
            logger.warning("dispatcher is off: jobs are stored but not started")
        }
        services.append(.init(service: app, serviceName: "http"))
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try await store.close()
        logger.info("g4api stopped")
    }

    static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.password != nil else { return url }
        c.password = "***"
        return c.string ?? url
    }
}

/// Runs the dispatcher until graceful shutdown.
struct DispatcherService: Service {
    let dispatcher: Dispatcher
    func run() async throws {
        await cancelWhenGracefulShutdown { await dispatcher.run() }
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
            let store = try await config.openStore(logger: logger)
            let token = APIToken.generate()
            try await store.insertToken(hash: APIToken.hash(token), user: user, admin: admin)
            try await store.close()
            print("created \(admin ? "an admin" : "a") token for user \(user) (stored as its SHA-256 only; keep it now):")
            print(token)
        }
    }
}
