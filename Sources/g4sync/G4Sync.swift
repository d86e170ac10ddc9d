import ArgumentParser
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ServiceSetup
import Sync

/// The process entry: Swift concurrency runs on NIO's event loops, as in g4api.
@main
enum Entry {
    static func main() {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await G4Sync.main()
            exit(0)
        }
        dispatchMain()
    }
}

/// The sidecar: the sync loops without the HTTP API, beside one or more
/// g4api replicas on the same store, on a login node or in its own pod.
struct G4Sync: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "g4sync",
        abstract: "Hands queued jobs to their schedulers and follows them: state, progress, logs, accounting, resubmission.",
        discussion: "Settings are g4api's (environment variables or --config FILE):\n"
            + ServiceConfiguration.known.sorted(by: { $0.key < $1.key }).map { "  \($0.key): \($0.value)" }.joined(separator: "\n"))

    @Option(name: .long, help: "A file of NAME=value lines (environment variables override it).")
    var config: String?

    func run() async throws {
        let settings = try ServiceConfiguration(file: config)
        let logger = JSONLogHandler.bootstrap(label: "g4sync", level: settings.logLevel)
        let components = try await ServiceComponents.build(settings, logger: logger)
        guard let sync = try components.syncService(defaultRoles: [.submit, .watch], logger: Logger(label: "g4.sync")) else {
            throw ValidationError("SYNC=none leaves g4sync nothing to do")
        }
        logger.info("g4sync starting", metadata: [
            "backends": "\(components.registry.kinds.map(\.rawValue).joined(separator: ","))", "owner": "\(sync.owner)",
            "sync": "\(settings.values["SYNC"] ?? "submit,watch")",
        ])
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: SyncLoops(sync: sync), serviceName: "sync")],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        try await components.store.close()
        logger.info("g4sync stopped")
    }
}
