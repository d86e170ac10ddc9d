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

    /// Sends points to the slab owners and deposits `weight` each on the
    /// planes this rank owns. Collective.
    public static func depositAll(_ points: [SIMD3<Double>], weight: Double, into fft: DistributedFFT) {
        let exchange = SlabExchange(points: points, meshSize: fft.n, planeOwner: fft.planeOwner, communicator: fft.communicator)
        deposit(exchange.received, weight: weight, into: fft)
    }

    /// Adds `weight` per point to the real cells of `fft` (this rank's planes only).
    public static func deposit(_ points: [SIMD3<Double>], weight: Double, into fft: DistributedFFT) {
        let n = fft.n
        let real = fft.real
        for u in points {
            let i = Int(u.x), j = Int(u.y), k = Int(u.z)
            let dx = u.x - Double(i), dy = u.y - Double(j), dz = u.z - Double(k)
            let k0 = k % n, k1 = (k + 1) % n
            for (a, wx) in [(i % n, 1 - dx), ((i + 1) % n, dx)] {
                let plane = a - fft.firstPlane
                if plane < 0 || plane >= fft.localPlanes { continue }
                for (b, wy) in [(j % n, 1 - dy), ((j + 1) % n, dy)] {
                    let row = fft.realIndex(localPlane: plane, b, 0)
                    let w = weight * wx * wy
                    real[row + k0] += w * (1 - dz)
                    real[row + k1] += w * dz
                }
            }
        }
    }
}
