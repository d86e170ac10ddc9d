/// Runs a step that every rank performs and that may fail on some ranks only
/// (a full disk, a missing file); afterwards all ranks agree: if any rank
/// failed, every rank throws the message of the lowest failing rank, so no
/// rank goes on to a collective call that the others will never make.
extension Communicator {
    public func collectively<T>(_ body: () throws -> T) throws -> T {
        var result: T? = nil
        var message = ""
        do { result = try body() } catch { message = String(describing: error) }
        let failed = allreduce(message.isEmpty ? Int32.max : Int32(rank), .min)
        if failed != Int32.max {
            throw CollectiveError(message: broadcast(message, root: Int(failed)), rank: Int(failed))
        }
        return result!
    }
}

/// A failure on one rank, as seen by all.
public struct CollectiveError: Error, CustomStringConvertible {
    public let message: String
    public let rank: Int
    public var description: String { message + (rank == 0 ? "" : " (on rank \(rank))") }
}
