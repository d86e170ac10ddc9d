import CHDF5

/// The value of an attribute: numbers as arrays (one element for a scalar
/// attribute, see `isScalar`), or a string.
public enum AttributeValue: Equatable, Sendable, CustomStringConvertible {
    case float64([Double])
    case float32([Float])
    case int32([Int32])
    case int64([Int64])
    case uint32([UInt32])
    case uint64([UInt64])
    case string(String)

    public var description: String {
        func list<T>(_ v: [T]) -> String { v.count == 1 ? "\(v[0])" : "[" + v.map { "\($0)" }.joined(separator: ", ") + "]" }
        switch self {
        case .float64(let v): return list(v)
        case .float32(let v): return list(v)
        case .int32(let v): return list(v)
        case .int64(let v): return list(v)
        case .uint32(let v): return list(v)
        case .uint64(let v): return list(v)
        case .string(let s): return "'\(s)'"
        }
    }

    /// Numbers as doubles (for header fields that other writers type differently).
    public var doubles: [Double]? {
        switch self {
        case .float64(let v): v
        case .float32(let v): v.map(Double.init)
        case .int32(let v): v.map(Double.init)
        case .int64(let v): v.map(Double.init)
        case .uint32(let v): v.map(Double.init)
        case .uint64(let v): v.map(Double.init)
        case .string: nil
        }
    }

    /// Whole numbers as UInt64 (counts), nil if any is negative or fractional.
    public var counts: [UInt64]? {
        switch self {
        case .uint64(let v): return v
        case .string: return nil
        default:
            guard let d = doubles, d.allSatisfy({ $0 >= 0 && $0 == $0.rounded() }) else { return nil }
            return d.map { UInt64($0) }
        }
    }
}

/// One attribute: a name, a value and whether it is a scalar or a 1-d array.
public struct Attribute: Equatable, Sendable {
    public let name: String
    public let value: AttributeValue
    public let isScalar: Bool

    public init(_ name: String, _ value: AttributeValue, isScalar: Bool? = nil) {
        self.name = name
        self.value = value
        if let isScalar {
            self.isScalar = isScalar
        } else if case .string = value {
            self.isScalar = true
        } else {
            self.isScalar = (value.doubles?.count ?? 1) == 1
        }
    }

    public static func scalar(_ name: String, _ v: Double) -> Attribute { Attribute(name, .float64([v]), isScalar: true) }
    public static func scalar(_ name: String, _ v: Int32) -> Attribute { Attribute(name, .int32([v]), isScalar: true) }
    public static func scalar(_ name: String, _ v: UInt64) -> Attribute { Attribute(name, .uint64([v]), isScalar: true) }
    public static func array(_ name: String, _ v: [Double]) -> Attribute { Attribute(name, .float64(v), isScalar: false) }
    public static func array(_ name: String, _ v: [UInt64]) -> Attribute { Attribute(name, .uint64(v), isScalar: false) }
    public static func string(_ name: String, _ s: String) -> Attribute { Attribute(name, .string(s), isScalar: true) }
}

/// Reads and writes the attributes of one group or dataset.
public struct HDF5Attributes {
    /// Keeps the group or dataset open while its attributes are in use.
    let object: HDF5Handle
    let owner: String
    var objectID: hid_t { object.id }

    /// Attribute names, in name order.
    public func names() -> [String] {
        final class Names { var list: [String] = [] }
        let names = Names()
        let visit: H5A_operator2_t = { _, name, _, data in
            guard let name, let data else { return 0 }
            Unmanaged<Names>.fromOpaque(data).takeUnretainedValue().list.append(String(cString: name))
            return 0
        }
        var index: hsize_t = 0
        H5Aiterate2(objectID, H5_INDEX_NAME, H5_ITER_INC, &index, visit, Unmanaged.passUnretained(names).toOpaque())
        return names.list
    }

    public func contains(_ name: String) -> Bool { H5Aexists(objectID, name) > 0 }

    public func readAll() throws -> [Attribute] { try names().map(read) }

    public func read(_ name: String) throws -> Attribute {
        let attribute = H5Aopen(objectID, name, chdf5_p_default())
        guard attribute >= 0 else { throw HDF5Error("\(owner) has no attribute \(name)") }
        defer { H5Aclose(attribute) }
        let type = H5Aget_type(attribute)
        defer { H5Tclose(type) }
        let space = H5Aget_space(attribute)
        defer { H5Sclose(space) }
        let isScalar = H5Sget_simple_extent_type(space) == H5S_SCALAR
        let count = Int(H5Sget_simple_extent_npoints(space))
        let info = HDF5TypeInfo(type)

        func numbers<T: HDF5Element & Numeric>(_: T.Type) throws -> [T] {
            var values = [T](repeating: 0, count: max(count, 1))
            guard H5Aread(attribute, T.memoryType, &values) >= 0 else { throw HDF5Error("cannot read attribute \(name) of \(owner)") }
            return Array(values.prefix(count))
        }

        let value: AttributeValue
        switch (info.kind, info.size, info.signed) {
        case (.float, 4, _): value = .float32(try numbers(Float.self))
        case (.float, _, _): value = .float64(try numbers(Double.self))
        case (.integer, 8, true): value = .int64(try numbers(Int64.self))
        case (.integer, 8, false): value = .uint64(try numbers(UInt64.self))
        case (.integer, _, true): value = .int32(try numbers(Int32.self))
        case (.integer, _, false): value = .uint32(try numbers(UInt32.self))
        case (.string, _, _): value = .string(try readString(attribute, type: type, info: info))
        default: throw HDF5Error("attribute \(name) of \(owner) has a type g4sim does not read")
        }
        return Attribute(name, value, isScalar: isScalar)
    }

    private func readString(_ attribute: hid_t, type: hid_t, info: HDF5TypeInfo) throws -> String {
        if info.variableLengthString {
            var pointer: UnsafeMutablePointer<CChar>? = nil
            guard H5Aread(attribute, type, &pointer) >= 0 else { throw HDF5Error("cannot read string attribute of \(owner)") }
            defer { if let pointer { H5free_memory(pointer) } }
            return pointer.map { String(cString: $0) } ?? ""
        }
        var buffer = [CChar](repeating: 0, count: info.size + 1)
        guard H5Aread(attribute, type, &buffer) >= 0 else { throw HDF5Error("cannot read string attribute of \(owner)") }
        return decodeCString(buffer)
    }

    /// Writes (replacing) an attribute. Collective in a parallel file: every
    /// rank must write the same value.
    public func write(_ attribute: Attribute) throws {
        if contains(attribute.name) { H5Adelete(objectID, attribute.name) }
        if case .string(let s) = attribute.value {
            let type = H5Tcopy(chdf5_c_s1())
            defer { H5Tclose(type) }
            H5Tset_size(type, max(s.utf8.count, 1))  // GADGET-4 sizes strings to their length
            H5Tset_strpad(type, H5T_STR_NULLTERM)
            let space = H5Screate(H5S_SCALAR)
            defer { H5Sclose(space) }
            let id = H5Acreate2(objectID, attribute.name, type, space, chdf5_p_default(), chdf5_p_default())
            guard id >= 0 else { throw HDF5Error("cannot create attribute \(attribute.name) on \(owner)") }
            defer { H5Aclose(id) }
            var bytes = Array(s.utf8CString)
            guard H5Awrite(id, type, &bytes) >= 0 else { throw HDF5Error("cannot write attribute \(attribute.name) on \(owner)") }
            return
        }
        switch attribute.value {
        case .float64(let v): try writeNumbers(attribute, v)
        case .float32(let v): try writeNumbers(attribute, v)
        case .int32(let v): try writeNumbers(attribute, v)
        case .int64(let v): try writeNumbers(attribute, v)
        case .uint32(let v): try writeNumbers(attribute, v)
        case .uint64(let v): try writeNumbers(attribute, v)
        case .string: break
        }
    }

    public func write(_ attributes: [Attribute]) throws {
        for a in attributes { try write(a) }
    }

    private func writeNumbers<T: HDF5Element>(_ attribute: Attribute, _ values: [T]) throws {
        precondition(!attribute.isScalar || values.count == 1, "scalar attribute \(attribute.name) needs one value")
        var dims = [hsize_t(values.count)]
        let space = attribute.isScalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        let id = H5Acreate2(objectID, attribute.name, T.fileType, space, chdf5_p_default(), chdf5_p_default())
        guard id >= 0 else { throw HDF5Error("cannot create attribute \(attribute.name) on \(owner)") }
        defer { H5Aclose(id) }
        var copy = values
        guard H5Awrite(id, T.memoryType, &copy) >= 0 else { throw HDF5Error("cannot write attribute \(attribute.name) on \(owner)") }
    }
}
