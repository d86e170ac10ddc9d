import Foundation
import RunContract

/// A job's directory as the sync loop reads it while the run goes on: the
/// solver's progress, whether restart files exist, and new log bytes. For
/// the local backend it is under RESULTS_DIR; for Slurm on the cluster
/// filesystem that g4sync (on a login node) mounts.
public struct RunDirectory: Sendable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    public var output: URL { url.appendingPathComponent(RunLayout.outputDirectory, isDirectory: true) }

    /// The solver's progress file, if it wrote one.
    public var progress: SolverProgress? { SolverProgress.read(url.appendingPathComponent(RunLayout.progressPath)) }

    /// Whether g4sim left restart files to continue from.
    public var hasRestartFiles: Bool {
        let path = url.appendingPathComponent(RunLayout.restartPath).path
        return !((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).isEmpty
    }

    /// Up to `limit` bytes of a log from `offset` (empty at its end or when it does not exist yet).
    public func readLog(_ stream: LogStream, from offset: Int64, limit: Int = 1 << 18) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: url.appendingPathComponent(stream.fileName).path) else { return [] }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(offset))
            return Array(try handle.read(upToCount: limit) ?? Data())
        } catch {
            return []
        }
    }
}
