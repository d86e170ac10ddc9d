import CMPI

/// A group of MPI ranks and the collective operations the solver performs on
/// it. Value type over an MPI handle; all calls are collective unless noted,
/// so every rank of the communicator must make them in the same order.
public struct Communicator: @unchecked Sendable {
    public let handle: MPI_Comm

    public init(handle: MPI_Comm) { self.handle = handle }

    /// All ranks of the job. Requires `MPIRuntime.start()`.
    public static var world: Communicator { Communicator(handle: cmpi_comm_world()) }

    /// This rank alone; useful for I/O that one rank does by itself.
    public static var selfOnly: Communicator { Communicator(handle: cmpi_comm_self()) }

    public var rank: Int {
        var r: Int32 = 0
        MPI_Comm_rank(handle, &r)
        return Int(r)
    }

    public var size: Int {
        var s: Int32 = 0
        MPI_Comm_size(handle, &s)
        return Int(s)
    }

    public var isRoot: Bool { rank == 0 }

    public func barrier() { MPI_Barrier(handle) }

    /// Ends the whole job (all ranks) with `code`; for unrecoverable errors
    /// seen by one rank while the others wait in a collective.
    public func abort(code: Int32) -> Never {
        MPI_Abort(handle, code)
        fatalError("MPI_Abort returned")
    }

    /// Splits into sub-communicators by `color`; ranks passing `nil` get `nil`.
    public func split(color: Int?, key: Int) -> Communicator? {
        var newComm: MPI_Comm? = nil
        MPI_Comm_split(handle, color.map { Int32($0) } ?? cmpi_undefined(), Int32(key), &newComm)
        guard let newComm, newComm != cmpi_comm_null() else { return nil }
        return Communicator(handle: newComm)
    }

    /// Releases a communicator made by `split`.
    public func free() {
        var h: MPI_Comm? = handle
        MPI_Comm_free(&h)
    }

    // MARK: Reductions

    public func allreduce<T: MPIScalar>(_ value: T, _ op: ReductionOperation) -> T {
        var input = value
        var output = value
        MPI_Allreduce(&input, &output, 1, T.mpiDatatype, op.handle, handle)
        return output
    }

    public func allreduce<T: MPIScalar>(_ values: [T], _ op: ReductionOperation) -> [T] {
        var result = values
        allreduceInPlace(&result, op)
        return result
    }

    public func allreduceInPlace<T: MPIScalar>(_ values: inout [T], _ op: ReductionOperation) {
        values.withUnsafeMutableBufferPointer { allreduceInPlace($0, op) }
    }

    public func allreduceInPlace<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ op: ReductionOperation) {
        var offset = 0
        while offset < buffer.count {  // MPI counts are Int32: reduce in chunks
            let n = min(buffer.count - offset, Int(Int32.max))
            MPI_Allreduce(cmpi_in_place(), buffer.baseAddress! + offset, Int32(n), T.mpiDatatype, op.handle, handle)
            offset += n
        }
    }

    /// Exclusive prefix sum: rank r gets the sum over ranks 0..<r (rank 0 gets zero).
    public func exclusiveScan<T: MPIScalar & AdditiveArithmetic>(_ value: T) -> T {
        var input = value
        var output = T.zero
        MPI_Exscan(&input, &output, 1, T.mpiDatatype, cmpi_op_sum(), handle)
        return rank == 0 ? T.zero : output
    }

    // MARK: Gathers and broadcasts of any plain-data type

    /// Every rank's `value`, indexed by rank.
    public func allgather<T: BitwiseCopyable>(_ value: T) -> [T] {
        var input = value
        return ContiguousType<T>.with { type in
            [T](unsafeUninitializedCapacity: size) { out, count in
                MPI_Allgather(&input, 1, type, out.baseAddress, 1, type, handle)
                count = size
            }
        }
    }

    /// The concatenation, in rank order, of every rank's `values`.
    public func allgatherv<T: BitwiseCopyable>(_ values: [T]) -> [T] {
        let counts = allgather(values.count)
        let displacements = Self.displacements(of: counts)
        let total = counts.reduce(0, +)
        let counts32 = counts.map(Self.mpiCount)
        let displs32 = displacements.map(Self.mpiCount)
        return ContiguousType<T>.with { type in
            values.withUnsafeBufferPointer { input in
                [T](unsafeUninitializedCapacity: total) { out, count in
                    MPI_Allgatherv(input.baseAddress, Self.mpiCount(values.count), type,
                                   out.baseAddress, counts32, displs32, type, handle)
                    count = total
                }
            }
        }
    }

    /// Rank `root`'s `values` on every rank (other ranks' input is ignored).
    public func broadcast<T: BitwiseCopyable>(_ values: [T], root: Int = 0) -> [T] {
        let count = broadcast(values.count, root: root)
        var buffer = rank == root ? values : [T](unsafeUninitializedCapacity: count) { _, n in n = count }
        ContiguousType<T>.with { type in
            buffer.withUnsafeMutableBufferPointer { b in
                _ = MPI_Bcast(b.baseAddress, Self.mpiCount(count), type, Int32(root), handle)
            }
        }
        return buffer
    }

    public func broadcast<T: BitwiseCopyable>(_ value: T, root: Int = 0) -> T {
        var v = value
        ContiguousType<T>.with { type in _ = MPI_Bcast(&v, 1, type, Int32(root), handle) }
        return v
    }

    public func broadcast(_ string: String, root: Int = 0) -> String {
        let bytes = broadcast(Array(string.utf8), root: root)
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: All-to-all exchange

    /// Exchanges counts: element `i` of the result is what rank `i` sent to this rank.
    public func alltoall(_ counts: [Int]) -> [Int] {
        precondition(counts.count == size, "alltoall needs one count per rank")
        var received = [Int](repeating: 0, count: size)
        MPI_Alltoall(counts, 1, Int.mpiDatatype, &received, 1, Int.mpiDatatype, handle)
        return received
    }

    /// Sends `values[offset_i ..< offset_i + sendCounts[i]]` to rank `i`, where the
    /// offsets are the running sums of `sendCounts` (so `values` is sorted by
    /// destination). Returns what every rank sent here, ordered by source rank.
    public func alltoallv<T: BitwiseCopyable>(_ values: [T], sendCounts: [Int]) -> [T] {
        precondition(sendCounts.count == size, "alltoallv needs one count per rank")
        precondition(sendCounts.reduce(0, +) == values.count, "alltoallv counts must add up to the values sent")
        let receiveCounts = alltoall(sendCounts)
        let total = receiveCounts.reduce(0, +)
        let sc = sendCounts.map(Self.mpiCount), sd = Self.displacements(of: sendCounts).map(Self.mpiCount)
        let rc = receiveCounts.map(Self.mpiCount), rd = Self.displacements(of: receiveCounts).map(Self.mpiCount)
        return ContiguousType<T>.with { type in
            values.withUnsafeBufferPointer { input in
                [T](unsafeUninitializedCapacity: total) { out, count in
                    MPI_Alltoallv(input.baseAddress, sc, sd, type, out.baseAddress, rc, rd, type, handle)
                    count = total
                }
            }
        }
    }

    // MARK: Helpers

    static func displacements(of counts: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: counts.count)
        var running = 0
        for i in counts.indices {
            result[i] = running
            running += counts[i]
        }
        return result
    }

    static func mpiCount(_ n: Int) -> Int32 {
        guard let c = Int32(exactly: n) else {
            preconditionFailure("MPI message of \(n) elements exceeds the 2^31 limit; split the exchange")
        }
        return c
    }
}

/// An MPI datatype of one `T` as opaque bytes, for moving structs (particles,
/// keys) without describing their fields.
enum ContiguousType<T: BitwiseCopyable> {
    static func with<R>(_ body: (MPI_Datatype) -> R) -> R {
        var type: MPI_Datatype? = nil
        MPI_Type_contiguous(Int32(MemoryLayout<T>.stride), cmpi_byte(), &type)
        MPI_Type_commit(&type)
        defer { MPI_Type_free(&type) }
        return body(type!)
    }
}
