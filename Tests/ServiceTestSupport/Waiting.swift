import Foundation

/// How the service tests wait: on an event the test controls or can see
/// (a file appears, a state is reached, a count stops growing), never on
/// the clock. A limit here only turns a hang into a failure with a message;
/// it is an upper bound far above what the event needs on any machine, so a
/// slow or loaded machine makes a test slower, not red.
public enum Wait {
    public struct Timeout: Error, CustomStringConvertible {
        public let description: String
    }

    /// Polls `condition` until it holds. `limit` bounds a hang (default 10 minutes).
    public static func until(_ what: @autoclosure () -> String, limit: Duration = .seconds(600),
                             every interval: Duration = .milliseconds(50),
                             _ condition: () async throws -> Bool) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while true {
            if try await condition() { return }
            if clock.now >= deadline { throw Timeout(description: "gave up after \(limit) waiting for \(what())") }
            try await Task.sleep(for: interval)
        }
    }

    /// Polls `state` until `done` holds, failing only when `progress` (a
    /// count that grows while work goes on, e.g. finished jobs) has not
    /// changed for `stall`. For waits whose length grows with the amount of
    /// work and the speed of the machine: there is no total limit.
    public static func whileProgressing<State>(_ what: @autoclosure () -> String, stall: Duration = .seconds(180),
                                               every interval: Duration = .milliseconds(250),
                                               _ state: () async throws -> State,
                                               progress: (State) -> Int, done: (State) -> Bool) async throws -> State {
        let clock = ContinuousClock()
        var last = Int.min
        var lastChange = clock.now
        while true {
            let s = try await state()
            if done(s) { return s }
            let p = progress(s)
            if p != last { last = p; lastChange = clock.now }
            if clock.now - lastChange >= stall {
                throw Timeout(description: "no progress for \(stall) waiting for \(what()) (progress \(p))")
            }
            try await Task.sleep(for: interval)
        }
    }
}
