import Glibc
import CHDF5
import CMPI
import Parallel

/// A failed HDF5 operation, with the file and object it concerned and the
/// innermost message of HDF5's error stack.
public struct HDF5Error: Error, CustomStringConvertible {
    public let description: String
    init(_ what: String) {
        let detail = HDF5Library.lastErrorMessage()
        description = detail.isEmpty ? what : "\(what): \(detail)"
    }
}

/// Library-wide set-up: HDF5's own error printing is turned off, because
/// every failure is turned into an `HDF5Error` with context instead.
enum HDF5Library {
    nonisolated(unsafe) private static var silenced = false

    static func prepare() {
        guard !silenced else { return }
        H5open()
        H5Eset_auto2(0 /* H5E_DEFAULT */, nil, nil)
        silenced = true
    }

    /// The innermost (most specific) description on the current error stack.
    static func lastErrorMessage() -> String {
        final class Box { var message = "" }
        let box = Box()
        let walker: H5E_walk2_t = { n, error, data in
            guard let error, let data, n == 0 else { return 0 }
            let box = Unmanaged<Box>.fromOpaque(data).takeUnretainedValue()
            if let desc = error.pointee.desc { box.message = String(cString: desc) }
            return 0
        }
        H5Ewalk2(0 /* H5E_DEFAULT */, H5E_WALK_UPWARD, walker, Unmanaged.passUnretained(box).toOpaque())
        H5Eclear2(0)
        return box.message
    }
}

/// An HDF5 identifier closed when the last reference goes away.
final class HDF5Handle {
    let id: hid_t
    private let closer: (hid_t) -> herr_t

    init(_ id: hid_t, closer: @escaping (hid_t) -> herr_t) {
        self.id = id
        self.closer = closer
    }

    deinit { _ = closer(id) }
}

/// Numbers that HDF5 stores natively; the file type is little-endian, as
/// GADGET-4 writes on x86.
public protocol HDF5Element: BitwiseCopyable {
    static var memoryType: hid_t { get }
    static var fileType: hid_t { get }
}

extension Float: HDF5Element {
    public static var memoryType: hid_t { chdf5_native_float() }
    public static var fileType: hid_t { chdf5_ieee_f32le() }
}
extension Double: HDF5Element {
    public static var memoryType: hid_t { chdf5_native_double() }
    public static var fileType: hid_t { chdf5_ieee_f64le() }
}
extension Int32: HDF5Element {
    public static var memoryType: hid_t { chdf5_native_int32() }
    public static var fileType: hid_t { chdf5_std_i32le() }
}
extension UInt32: HDF5Element {
    public static var memoryType: hid_t { chdf5_native_uint32() }
    public static var fileType: hid_t { chdf5_std_u32le() }
}
extension Int64: HDF5Element {
    public static var memoryType: hid_t { chdf5_native_int64() }
    public static var fileType: hid_t { chdf5_std_i64le() }
}
extension UInt64: HDF5Element {
    public static var memoryType: hid_t { chdf5_native_uint64() }
    public static var fileType: hid_t { chdf5_std_u64le() }
}

/// An HDF5 file opened through MPI-IO on a communicator. Every rank of the
/// communicator opens, creates objects, writes attributes and closes
/// together; dataset transfers are collective.
public final class HDF5File {
    public let path: String
    public let communicator: Communicator
    let handle: HDF5Handle
    private var closed = false

    private init(path: String, communicator: Communicator, id: hid_t) {
        self.path = path
        self.communicator = communicator
        self.handle = HDF5Handle(id) { _ in 0 }  // closed explicitly by close()
    }

    private static func accessList(_ communicator: Communicator) -> hid_t {
        HDF5Library.prepare()
        let fapl = H5Pcreate(chdf5_p_file_access())
        H5Pset_fapl_mpio(fapl, communicator.handle, cmpi_info_null())
        return fapl
    }

    /// Creates (or truncates) `path`. Collective.
    public static func create(_ path: String, communicator: Communicator) throws -> HDF5File {
        let fapl = accessList(communicator)
        defer { H5Pclose(fapl) }
        let id = H5Fcreate(path, chdf5_f_acc_trunc(), chdf5_p_default(), fapl)
        guard id >= 0 else { throw HDF5Error("cannot create \(path)") }
        return HDF5File(path: path, communicator: communicator, id: id)
    }

    /// Opens `path` read-only. Collective.
    public static func open(_ path: String, communicator: Communicator) throws -> HDF5File {
        let fapl = accessList(communicator)
        defer { H5Pclose(fapl) }
        let id = H5Fopen(path, chdf5_f_acc_rdonly(), fapl)
        guard id >= 0 else { throw HDF5Error("cannot open \(path) as HDF5") }
        return HDF5File(path: path, communicator: communicator, id: id)
    }

    public var root: HDF5Group { HDF5Group(file: self, handle: handle, name: "/") }

    /// Flushes and closes. Collective; reports write errors (a full disk shows here).
    public func close() throws {
        guard !closed else { return }
        let flushed = H5Fflush(handle.id, H5F_SCOPE_GLOBAL)
        let status = H5Fclose(handle.id)
        // A failed close leaves the file open inside HDF5; `abandon()` can still close it.
        if status >= 0 { closed = true }
        if flushed < 0 || status < 0 { throw HDF5Error("cannot write \(path)") }
    }

    /// Gives up on a file being written after a write error: empties it to
    /// free the space its data took, so that HDF5 can write its last
    /// metadata and really close it (a file left open after a failed close
    /// crashes HDF5's shutdown in MPI_Finalize). The caller deletes it. Collective.
    public func abandon() {
        guard !closed else { return }
        communicator.barrier()
        if communicator.isRoot { _ = truncate(path, 0) }
        communicator.barrier()
        if H5Fclose(handle.id) >= 0 { closed = true }
    }

    deinit { if !closed { H5Fclose(handle.id) } }
}

/// Output that never appears half-written under its real name.
extension HDF5File {
    /// Writes `path` under the temporary name `path.incomplete`: `fill` writes
    /// the contents, then the file is closed. On any failure (a full disk) the
    /// file is abandoned and deleted and the error names `path`. Returns the
    /// temporary name, for `publish` once every file of a set is complete.
    /// Collective over `communicator`.
    public static func writeIncomplete(_ path: String, communicator: Communicator,
                                       _ fill: (HDF5File) throws -> Void) throws -> String {
        let temporary = path + ".incomplete"
        let file = try communicator.collectively { () throws -> HDF5File in
            do { return try create(temporary, communicator: communicator) } catch {
                throw SnapshotFormatError("cannot create \(path): \(error)")
            }
        }
        do {
            try communicator.collectively { try fill(file) }
            try communicator.collectively { try file.close() }
        } catch {
            file.abandon()
            if communicator.isRoot { unlink(temporary) }
            throw SnapshotFormatError("cannot write \(path) (disk full?): \(error)")
        }
        return temporary
    }

    /// Renames finished `.incomplete` files to their real names (rank 0). Collective.
    public static func publish(_ temporaries: [String], communicator: Communicator) throws {
        try communicator.collectively {
            guard communicator.isRoot else { return }
            for temporary in temporaries {
                let path = String(temporary.dropLast(".incomplete".count))
                guard rename(temporary, path) == 0 else {
                    throw SnapshotFormatError("cannot rename \(temporary) to \(path): \(String(cString: strerror(errno)))")
                }
            }
        }
    }
}

/// A group: holds attributes, subgroups and datasets.
public struct HDF5Group {
    let file: HDF5File
    let handle: HDF5Handle
    public let name: String

    public func createGroup(_ child: String) throws -> HDF5Group {
        let id = H5Gcreate2(handle.id, child, chdf5_p_default(), chdf5_p_default(), chdf5_p_default())
        guard id >= 0 else { throw HDF5Error("cannot create group \(child) in \(file.path)") }
        return HDF5Group(file: file, handle: HDF5Handle(id, closer: H5Gclose), name: child)
    }

    public func openGroup(_ child: String) throws -> HDF5Group {
        let id = H5Gopen2(handle.id, child, chdf5_p_default())
        guard id >= 0 else { throw HDF5Error("\(file.path) has no group \(child)") }
        return HDF5Group(file: file, handle: HDF5Handle(id, closer: H5Gclose), name: child)
    }

    public func contains(_ child: String) -> Bool {
        H5Lexists(handle.id, child, chdf5_p_default()) > 0
    }

    /// Names of the links in this group, in name order.
    public func memberNames() -> [String] {
        var info = H5G_info_t()
        guard H5Gget_info(handle.id, &info) >= 0 else { return [] }
        return (0..<info.nlinks).compactMap { i in
            let length = H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, chdf5_p_default())
            guard length >= 0 else { return nil }
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, buffer.count, chdf5_p_default())
            return decodeCString(buffer)
        }
    }

    public func openDataset(_ child: String) throws -> HDF5Dataset {
        let id = H5Dopen2(handle.id, child, chdf5_p_default())
        guard id >= 0 else { throw HDF5Error("\(file.path) has no dataset \(name)/\(child)") }
        return HDF5Dataset(file: file, handle: HDF5Handle(id, closer: H5Dclose), name: child)
    }

    /// Creates a contiguous dataset of `shape` (rows × columns...) with element type `T`'s
    /// little-endian file type. Collective.
    public func createDataset<T: HDF5Element>(_ child: String, of: T.Type, shape: [Int]) throws -> HDF5Dataset {
        var dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), &dims, nil)
        defer { H5Sclose(space) }
        let id = H5Dcreate2(handle.id, child, T.fileType, space, chdf5_p_default(), chdf5_p_default(), chdf5_p_default())
        guard id >= 0 else { throw HDF5Error("cannot create dataset \(child) in \(file.path)") }
        return HDF5Dataset(file: file, handle: HDF5Handle(id, closer: H5Dclose), name: child)
    }

    public var attributes: HDF5Attributes { HDF5Attributes(object: handle, owner: "\(file.path):\(name)") }
}

/// A dataset whose first dimension indexes particles (or groups).
public struct HDF5Dataset {
    let file: HDF5File
    let handle: HDF5Handle
    public let name: String

    public var shape: [Int] {
        let space = H5Dget_space(handle.id)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var dims = [hsize_t](repeating: 0, count: max(rank, 1))
        H5Sget_simple_extent_dims(space, &dims, nil)
        return rank == 0 ? [] : dims.prefix(rank).map { Int($0) }
    }

    /// Element kind and size in the file ("f4", "u8", ...), numpy's notation.
    public var elementDescription: String {
        let type = H5Dget_type(handle.id)
        defer { H5Tclose(type) }
        return HDF5TypeInfo(type).numpyCode
    }

    public var elementInfo: HDF5TypeInfo {
        let type = H5Dget_type(handle.id)
        defer { H5Tclose(type) }
        return HDF5TypeInfo(type)
    }

    public var attributes: HDF5Attributes { HDF5Attributes(object: handle, owner: "\(file.path):\(name)") }

    /// Selects rows [start, start + count) of the file space (all columns),
    /// or nothing when count is 0, and the matching memory space.
    private func selection(start: Int, count: Int) -> (file: hid_t, memory: hid_t) {
        let dims = shape
        let fileSpace = H5Dget_space(handle.id)
        var memoryDims = dims.map { hsize_t($0) }
        memoryDims[0] = hsize_t(count)
        let memorySpace = H5Screate_simple(Int32(memoryDims.count), &memoryDims, nil)
        if count == 0 {
            H5Sselect_none(fileSpace)
            H5Sselect_none(memorySpace)
        } else {
            var offset = [hsize_t](repeating: 0, count: dims.count)
            offset[0] = hsize_t(start)
            H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &offset, nil, &memoryDims, nil)
        }
        return (fileSpace, memorySpace)
    }

    private static func collectiveTransfer() -> hid_t {
        let dxpl = H5Pcreate(chdf5_p_dataset_xfer())
        H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE)
        return dxpl
    }

    /// Writes `values` (count × columns elements) into rows starting at
    /// `startRow`. Collective: every rank calls it, possibly with no rows.
    public func write<T: HDF5Element>(_ values: UnsafeBufferPointer<T>, startRow: Int) throws {
        let columns = shape.dropFirst().reduce(1, *)
        precondition(columns == 0 || values.count % columns == 0, "\(name): \(values.count) values do not fill rows of \(columns)")
        let rows = columns == 0 ? 0 : values.count / columns
        let (fileSpace, memorySpace) = selection(start: startRow, count: rows)
        let dxpl = Self.collectiveTransfer()
        defer { H5Sclose(fileSpace); H5Sclose(memorySpace); H5Pclose(dxpl) }
        var dummy: UInt64 = 0  // a valid address for ranks without data
        let status = withUnsafeMutablePointer(to: &dummy) { dummyPointer in
            H5Dwrite(handle.id, T.memoryType, memorySpace, fileSpace, dxpl,
                     values.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(dummyPointer))
        }
        if status < 0 { throw HDF5Error("cannot write \(name) to \(file.path)") }
    }

    public func write<T: HDF5Element>(_ values: [T], startRow: Int) throws {
        try values.withUnsafeBufferPointer { try write($0, startRow: startRow) }
    }

    /// Reads rows [startRow, startRow + rows), converting to `T`. Collective.
    public func read<T: HDF5Element>(_: T.Type, startRow: Int, rows: Int) throws -> [T] {
        let columns = shape.dropFirst().reduce(1, *)
        let (fileSpace, memorySpace) = selection(start: startRow, count: rows)
        let dxpl = Self.collectiveTransfer()
        defer { H5Sclose(fileSpace); H5Sclose(memorySpace); H5Pclose(dxpl) }
        var status: herr_t = 0
        let n = rows * columns
        let result = [T](unsafeUninitializedCapacity: max(n, 1)) { buffer, count in
            status = H5Dread(handle.id, T.memoryType, memorySpace, fileSpace, dxpl, buffer.baseAddress)
            count = n
        }
        if status < 0 { throw HDF5Error("cannot read \(name) from \(file.path)") }
        return result
    }
}

/// What kind of number or string an HDF5 type is.
public struct HDF5TypeInfo: Equatable, Sendable {
    public enum Kind: Sendable { case integer, float, string, other }
    public let kind: Kind
    public let size: Int
    public let signed: Bool
    public let variableLengthString: Bool

    init(_ type: hid_t) {
        size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            kind = .integer
            signed = H5Tget_sign(type) == H5T_SGN_2
            variableLengthString = false
        case H5T_FLOAT:
            kind = .float
            signed = true
            variableLengthString = false
        case H5T_STRING:
            kind = .string
            signed = false
            variableLengthString = H5Tis_variable_str(type) > 0
        default:
            kind = .other
            signed = false
            variableLengthString = false
        }
    }

    /// numpy's dtype notation: f4, f8, i4, u4, i8, u8, S7.
    public var numpyCode: String {
        switch kind {
        case .integer: (signed ? "i" : "u") + String(size)
        case .float: "f" + String(size)
        case .string: variableLengthString ? "str" : "S" + String(size)
        case .other: "?" + String(size)
        }
    }
}

/// Text of a NUL-terminated C buffer.
func decodeCString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
