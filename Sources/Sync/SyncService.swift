import Foundation
import JobStore
import Jobs
import Logging
import Scheduling
import Synchronization

/// How often and how hard the sync loops work.
public struct SyncSettings: Sendable {
    /// Between two watch passes of a backend: the poll interval. A shared
    /// cluster wants ≥ 10 s (one squeue and at most one sacct per pass for all
    /// jobs); the local backend can afford half a second.
    public var pollSeconds: [BackendKind: Double] = [.local: 0.5, .slurm: 15, .kubernetes: 10]
    /// Between submit passes when nothing wakes the submitter.
    public var submitSeconds: Double = 5
    /// Jobs claimed per submit pass.
    public var submitBatch = 50
    /// First and longest wait after a backend could not take jobs.
    public var submitBackoff: Double = 2
    public var maximumBackoff: Double = 300
    /// Accounting of an ended attempt is refreshed this long (rows settle asynchronously).
    public var accountingSettleSeconds: Double = 180
    public init() {}

    public func poll(_ kind: BackendKind) -> Double { pollSeconds[kind] ?? 10 }
    /// The watch lease outlives a few missed passes, then another watcher may take over.
    public func leaseSeconds(for kind: BackendKind) -> Int { max(15, Int((3 * poll(kind)).rounded(.up))) }
}

/// The sync loops of one process: for each backend, a submitter (hands
/// queued jobs over) and a watcher (follows live ones), each on its own
/// task, so a slow or full backend never holds up another. g4api runs both
/// in-process (the embedded default) or only the submitter; g4sync runs
/// them as the sidecar.
public final class SyncService: Sendable {
    public enum Role: String, Sendable, CaseIterable {
        case submit, watch
    }

    let store: any JobStorage
    let backends: [any Backend]
    let roles: Set<Role>
    let settings: SyncSettings
    let policy: EndingPolicy
    let logger: Logger
    /// This process's identity in claims and leases (unique per process).
    public let owner: String
    private let submitWakeups: [BackendKind: AsyncStream<Void>.Continuation]
    private let submitStreams: Mutex<[BackendKind: AsyncStream<Void>]>
    private let watchWakeups: [BackendKind: AsyncStream<Void>.Continuation]
    private let watchStreams: Mutex<[BackendKind: AsyncStream<Void>]>
    private let reports = Mutex<[BackendKind: (passes: Int, last: Watcher.PassReport)]>([:])

    /// Watch passes made so far per backend, and what the last one did.
    public func watchStatistics() -> [BackendKind: (passes: Int, last: Watcher.PassReport)] { reports.withLock { $0 } }

    func record(_ report: Watcher.PassReport?, for kind: BackendKind) {
        guard let report else { return }
        reports.withLock { $0[kind] = (($0[kind]?.passes ?? 0) + 1, report) }
    }

    public init(store: any JobStorage, backends: [any Backend], roles: Set<Role>, settings: SyncSettings = SyncSettings(),
                policy: EndingPolicy = EndingPolicy(), owner: String = SyncService.processIdentity(),
                logger: Logger = Logger(label: "g4.sync")) {
        self.store = store
        self.backends = backends
        self.roles = roles
        self.settings = settings
        self.policy = policy
        self.owner = owner
        self.logger = logger
        var submitC: [BackendKind: AsyncStream<Void>.Continuation] = [:], submitS: [BackendKind: AsyncStream<Void>] = [:]
        var watchC: [BackendKind: AsyncStream<Void>.Continuation] = [:], watchS: [BackendKind: AsyncStream<Void>] = [:]
        for b in backends {
            let (s1, c1) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            submitS[b.kind] = s1
            submitC[b.kind] = c1
            let (s2, c2) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            watchS[b.kind] = s2
            watchC[b.kind] = c2
        }
        submitWakeups = submitC
        submitStreams = Mutex(submitS)
        watchWakeups = watchC
        watchStreams = Mutex(watchS)
    }

    /// host:pid:random, so that two processes never share a claim or a lease.
    public static func processIdentity() -> String {
        "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// A job was stored or a cancel requested: run the loops now rather than at their next tick.
    public func wake() {
        for c in submitWakeups.values { c.yield() }
        for c in watchWakeups.values { c.yield() }
    }

    /// Runs until cancelled. Each backend's watcher makes its first pass
    /// before its submitter starts, so runs that outlived an earlier process
    /// are re-attached (and their slots counted) before new ones start.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for backend in backends {
                let submitter = Submitter(store: store, backend: backend, owner: owner, settings: settings,
                                          logger: logger.with("backend", backend.kind.rawValue))
                let watcher = Watcher(store: store, backend: backend, owner: owner, settings: settings, policy: policy,
                                      logger: logger.with("backend", backend.kind.rawValue),
                                      requeued: { [submitWakeups] in submitWakeups[backend.kind]?.yield() })
                let submitStream = submitStreams.withLock { $0.removeValue(forKey: backend.kind) }
                let watchStream = watchStreams.withLock { $0.removeValue(forKey: backend.kind) }
                group.addTask { [roles, settings, logger] in
                    if roles.contains(.watch), let watchStream {
                        self.record(try? await watcher.pass(), for: backend.kind)
                        await withTaskGroup(of: Void.self) { inner in
                            inner.addTask {
                                await Self.loop(every: settings.poll(backend.kind), wakeups: watchStream) {
                                    do { self.record(try await watcher.pass(), for: backend.kind) } catch {
                                        logger.error("watch pass failed", metadata: ["backend": "\(backend.kind.rawValue)", "error": "\(error)"])
                                    }
                                }
                                await watcher.resign()
                            }
                            if roles.contains(.submit), let submitStream {
                                inner.addTask {
                                    await Self.loop(every: settings.submitSeconds, wakeups: submitStream) { await submitter.pass() }
                                }
                            }
                        }
                    } else if roles.contains(.submit), let submitStream {
                        await Self.loop(every: settings.submitSeconds, wakeups: submitStream) { await submitter.pass() }
                    }
                }
            }
        }
    }

    /// Runs `body` now, then whenever woken and every `seconds`, until cancelled.
    static func loop(every seconds: Double, wakeups: AsyncStream<Void>, _ body: @escaping @Sendable () async -> Void) async {
        let (ticks, tick) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let timer = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(seconds))
                tick.yield()
            }
        }
        let relay = Task {
            for await _ in wakeups { tick.yield() }
        }
        defer {
            timer.cancel()
            relay.cancel()
        }
        await body()
        for await _ in ticks {
            if Task.isCancelled { break }
            await body()
        }
    }
}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy[metadataKey: key] = "\(value)"
        return copy
    }
}
