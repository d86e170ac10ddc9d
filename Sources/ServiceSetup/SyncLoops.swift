import ServiceLifecycle
import SubmissionAPI
import Sync

/// The sync loops as a service of a ServiceGroup: they run until graceful
/// shutdown (SIGTERM), then give up their leases so another process can
/// take over at once. Running jobs are left running.
public struct SyncLoops: Service {
    let sync: SyncService
    public init(sync: SyncService) { self.sync = sync }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await sync.run() }
    }
}

extension SyncService {
    /// The watch loops' numbers for g4api's /metrics.
    public func metricSamples() -> [MetricSample] {
        watchStatistics().flatMap { kind, s in
            let labels = [("backend", kind.rawValue)]
            return [
                MetricSample(name: "g4_sync_watch_passes", labels: labels, value: Double(s.passes),
                             help: "Watch passes made by this process's sync loop"),
                MetricSample(name: "g4_sync_watch_pass_seconds", labels: labels, value: s.last.seconds,
                             help: "Duration of the last watch pass"),
                MetricSample(name: "g4_sync_watch_pass_commands", labels: labels, value: Double(s.last.commands),
                             help: "Scheduler commands run by the last watch pass"),
                MetricSample(name: "g4_sync_watched_jobs", labels: labels, value: Double(s.last.jobs),
                             help: "Live jobs the last watch pass followed"),
            ]
        }
    }
}
