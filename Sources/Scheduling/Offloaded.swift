import NIOPosix

/// Runs blocking work (file syncs, hashing, reading logs, spawning processes)
/// on NIO's blocking pool: g4api's async code runs on the event loops, which
/// must not wait on disks.
public func offloaded<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(work)
}
