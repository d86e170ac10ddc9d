/// Positions as 32-bit integers spanning the periodic box (GADGET-4's
/// POSITIONS_IN_32BIT): wrapping is free (integer overflow is the period),
/// the difference of two positions read as Int32 is already the nearest
/// periodic image, and Peano–Hilbert keys come straight from the bits.
public typealias IntegerPosition = SIMD3<UInt32>

public struct IntegerCoordinates: Sendable {
    public let boxSize: Double
    /// Box length per integer unit, L / 2³².
    public let lengthPerUnit: Double
    /// Integer units per box length, 2³² / L.
    public let unitsPerLength: Double

    public init(boxSize: Double) {
        self.boxSize = boxSize
        lengthPerUnit = boxSize / 4_294_967_296.0
        unitsPerLength = 4_294_967_296.0 / boxSize
    }

    /// The integer position of x (any real; wrapped into the box).
    @inline(__always)
    public func integer(_ x: Double) -> UInt32 {
        var u = x * unitsPerLength
        u -= 4_294_967_296.0 * (u / 4_294_967_296.0).rounded(.down)
        // u in [0, 2^32]; the top edge wraps to 0.
        return UInt32(truncatingIfNeeded: Int64(u))
    }

    @inline(__always)
    public func integer(_ x: SIMD3<Double>) -> IntegerPosition {
        IntegerPosition(integer(x.x), integer(x.y), integer(x.z))
    }

    /// Position in [0, L).
    @inline(__always)
    public func real(_ p: UInt32) -> Double { Double(p) * lengthPerUnit }

    @inline(__always)
    public func real(_ p: IntegerPosition) -> SIMD3<Double> {
        SIMD3(Double(p.x), Double(p.y), Double(p.z)) * lengthPerUnit
    }

    /// b − a as the nearest periodic image, in length units.
    @inline(__always)
    public func separation(from a: IntegerPosition, to b: IntegerPosition) -> SIMD3<Double> {
        let d = b &- a
        return SIMD3(Double(Int32(bitPattern: d.x)), Double(Int32(bitPattern: d.y)), Double(Int32(bitPattern: d.z))) * lengthPerUnit
    }

    /// Moves p by a displacement in length units (any size; wraps).
    @inline(__always)
    public func moved(_ p: IntegerPosition, by d: SIMD3<Double>) -> IntegerPosition {
        // Split into whole boxes (dropped) and the remainder, so huge steps cannot overflow.
        var u = d * unitsPerLength
        u -= 4_294_967_296.0 * (u / 4_294_967_296.0).rounded(.towardZero)
        let delta = SIMD3<Int64>(Int64(u.x.rounded()), Int64(u.y.rounded()), Int64(u.z.rounded()))
        return p &+ SIMD3<UInt32>(truncatingIfNeeded: delta)
    }
}
