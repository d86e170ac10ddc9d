import Synchronization

/// An answer from a scheduler that stays good for a while (a user's
/// associations, the partitions): fetched at most once per `lifetime`, and
/// callers that ask while a fetch is under way wait for that one instead of
/// starting their own (200 concurrent POSTs make one sacctmgr call, not 200).
/// A failed fetch (nil) is not kept.
final class CachedAnswer<Value: Sendable>: Sendable {
    private let lifetime: Duration
    private let fetch: @Sendable () async -> Value?
    private let state = Mutex<(value: Value?, taken: ContinuousClock.Instant, inFlight: Task<Value?, Never>?)>(
        (nil, .now, nil))

    init(lifetime: Duration, fetch: @escaping @Sendable () async -> Value?) {
        self.lifetime = lifetime
        self.fetch = fetch
    }

    func value() async -> Value? {
        let (cached, task) = state.withLock { s -> (Value?, Task<Value?, Never>?) in
            if let v = s.value, ContinuousClock.now - s.taken < lifetime { return (v, nil) }
            if let t = s.inFlight { return (nil, t) }
            let fetch = self.fetch
            let t = Task { await fetch() }
            s.inFlight = t
            return (nil, t)
        }
        if let cached { return cached }
        guard let task else { return nil }
        let answer = await task.value
        state.withLock { s in
            guard s.inFlight == task else { return }
            s.inFlight = nil
            if let answer {
                s.value = answer
                s.taken = .now
            }
        }
        return answer
    }
}
