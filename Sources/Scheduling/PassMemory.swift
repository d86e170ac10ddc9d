import Synchronization

/// What a batch-scheduler backend remembers between watch passes: since
/// when a job has been missing from every listing (it is lost only after a
/// grace period, since schedulers show runs late and purge them early), and
/// when a cancel was last sent (re-sent at most once a minute until the run
/// is seen ended). Shared by the Slurm and Kubernetes backends; forgets
/// every job that is no longer live.
final class PassMemory: Sendable {
    private struct State {
        var missingSince: [String: ContinuousClock.Instant] = [:]
        var cancelSent: [String: ContinuousClock.Instant] = [:]
    }
    private let state = Mutex(State())
    let cancelInterval: Duration

    init(cancelInterval: Duration = .seconds(60)) { self.cancelInterval = cancelInterval }

    /// The job showed up in a listing.
    func seen(_ jobID: String) {
        state.withLock { _ = $0.missingSince.removeValue(forKey: jobID) }
    }

    /// The job showed up nowhere: for how long now (zero the first time).
    func missing(_ jobID: String, now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { s in
            let since = s.missingSince[jobID] ?? now
            s.missingSince[jobID] = since
            return now - since
        }
    }

    /// Whether a cancel should be sent now; if so it counts as sent.
    func cancelDue(_ jobID: String) -> Bool {
        state.withLock { s in
            if let sent = s.cancelSent[jobID], ContinuousClock.now - sent < cancelInterval { return false }
            s.cancelSent[jobID] = .now
            return true
        }
    }

    /// The cancel did not go through: try again at the next pass.
    func cancelFailed(_ jobID: String) {
        state.withLock { _ = $0.cancelSent.removeValue(forKey: jobID) }
    }

    /// Whether this process sent a cancel for the job.
    func cancelSent(_ jobID: String) -> Bool {
        state.withLock { $0.cancelSent[jobID] != nil }
    }

    /// Forgets every job not among `live`.
    func keepOnly(_ live: Set<String>) {
        state.withLock { s in
            s.missingSince = s.missingSince.filter { live.contains($0.key) }
            s.cancelSent = s.cancelSent.filter { live.contains($0.key) }
        }
    }
}
