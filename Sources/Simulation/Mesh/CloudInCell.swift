/// Cloud-in-cell mass assignment onto the slabs of a distributed mesh, with
/// grid points at integer cell coordinates (as GADGET does, no half-cell
/// shift): a point at u spreads (1 − d, d) over cells ⌊u⌋ and ⌊u⌋ + 1 per axis.
public enum CloudInCell {
    /// Position in cell units, [0, n).
    @inline(__always)
    public static func cellUnits(_ p: IntegerPosition, meshSize n: Int) -> SIMD3<Double> {
        let scale = Double(n) / 4_294_967_296.0
        return SIMD3(Double(p.x), Double(p.y), Double(p.z)) * scale
    }

    /// Sends points to the slab owners and assigns `weight` each to the
    /// planes this rank owns. Collective.
    public static func assignAll(_ points: [SIMD3<Double>], weight: Double, into fft: DistributedFFT) {
        let exchange = SlabExchange(points: points, meshSize: fft.n, planeOwner: fft.planeOwner, communicator: fft.communicator)
        assign(exchange.received, weight: weight, into: fft)
    }

    /// Sets the real cells of `fft` (this rank's planes) to the mass of
    /// `points`, `weight` each.
    ///
    /// The weights are summed as integers, in units of 2⁻⁴⁰ of one point,
    /// and converted once: integer sums do not depend on the order in which
    /// points arrive, which a rank count changes, so the mesh is
    /// bit-identical on any number of ranks. (2⁻⁴⁰ is 1e-12 of a particle;
    /// a cell overflows only beyond 8 million particles.)
    public static func assign(_ points: [SIMD3<Double>], weight: Double, into fft: DistributedFFT) {
        let n = fft.n
        let units = 1_099_511_627_776.0  // 2⁴⁰
        fft.clear()
        // The work array doubles as the integer accumulator (same size, zero bits are 0 in both).
        let sums = UnsafeMutableRawPointer(fft.real).assumingMemoryBound(to: Int64.self)
        @inline(__always) func fixed(_ w: Double) -> Int64 { Int64((w * units).rounded(.toNearestOrEven)) }
        for u in points {
            let i = Int(u.x), j = Int(u.y), k = Int(u.z)
            let dx = u.x - Double(i), dy = u.y - Double(j), dz = u.z - Double(k)
            let k0 = k % n, k1 = (k + 1) % n
            for (a, wx) in [(i % n, 1 - dx), ((i + 1) % n, dx)] {
                let plane = a - fft.firstPlane
                if plane < 0 || plane >= fft.localPlanes { continue }
                for (b, wy) in [(j % n, 1 - dy), ((j + 1) % n, dy)] {
                    let row = fft.realIndex(localPlane: plane, b, 0)
                    let w = wx * wy
                    sums[row + k0] &+= fixed(w * (1 - dz))
                    sums[row + k1] &+= fixed(w * dz)
                }
            }
        }
        let scale = weight / units
        for plane in 0..<fft.localPlanes {
            for y in 0..<n {
                let row = fft.realIndex(localPlane: plane, y, 0)
                for z in 0..<n { fft.real[row + z] = Double(sums[row + z]) * scale }
            }
        }
    }
}
