import CMPI

/// A Swift scalar with a matching predefined MPI datatype, so reductions can
/// use MPI's own arithmetic (sum, min, max) instead of bytes.
public protocol MPIScalar: BitwiseCopyable, Comparable {
    static var mpiDatatype: MPI_Datatype { get }
    static var zero: Self { get }
}

extension Double: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { cmpi_double() }
    public static var zero: Double { 0 }
}
extension Float: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { cmpi_float() }
    public static var zero: Float { 0 }
}
extension Int: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { cmpi_int64() }
    public static var zero: Int { 0 }
}
extension Int64: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { cmpi_int64() }
    public static var zero: Int64 { 0 }
}
extension UInt64: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { cmpi_uint64() }
    public static var zero: UInt64 { 0 }
}
extension Int32: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { cmpi_int32() }
    public static var zero: Int32 { 0 }
}
extension UInt32: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { cmpi_uint32() }
    public static var zero: UInt32 { 0 }
}
extension UInt8: MPIScalar {
    public static var mpiDatatype: MPI_Datatype { cmpi_uint8() }
    public static var zero: UInt8 { 0 }
}

/// The reductions the solver needs.
public enum ReductionOperation: Sendable {
    case sum, min, max

    var handle: MPI_Op {
        switch self {
        case .sum: cmpi_op_sum()
        case .min: cmpi_op_min()
        case .max: cmpi_op_max()
        }
    }
}
