/// The interaction list of one group of targets, in double precision
/// relative to the group's corner, as structure of arrays padded to the
/// SIMD width with distant massless entries, so every target sums it in
/// straight vector loops.
struct InteractionList: ~Copyable {
    static let width = 4
    /// Particles go two SIMD blocks at a time.
    static let particleWidth = 8
    /// Far enough that padding entries always fall beyond the cut-off.
    static let far = 1.0e15

    /// Particle columns: x, y, z.
    private(set) var particles = Columns(3)
    /// Node columns: x, y, z, mass, qxx, qyy, qzz, qxy, qxz, qyz.
    private(set) var nodes = Columns(10)
    private(set) var particleCount = 0
    private(set) var nodeCount = 0

    mutating func removeAll() {
        particles.count = 0
        nodes.count = 0
        particleCount = 0
        nodeCount = 0
    }

    @inline(__always)
    mutating func appendParticle(_ d: SIMD3<Double>) {
        particles.append3(d.x, d.y, d.z)
        particleCount += 1
    }

    @inline(__always)
    mutating func appendNode(_ d: SIMD3<Double>, mass m: Double, quadrupole q: SIMD8<Double>) {
        nodes.append10(d.x, d.y, d.z, m, q[0], q[1], q[2], q[3], q[4], q[5])
        nodeCount += 1
    }

    /// Pads both lists to a multiple of their SIMD widths.
    mutating func pad() {
        while particles.count % Self.particleWidth != 0 { particles.append3(Self.far, Self.far, Self.far) }
        while nodes.count % Self.width != 0 { nodes.append10(Self.far, Self.far, Self.far, 0, 0, 0, 0, 0, 0, 0) }
    }

    /// A growable set of equally long Double columns in one allocation.
    struct Columns: ~Copyable {
        let columns: Int
        var capacity = 256
        var count = 0
        var storage: UnsafeMutablePointer<Double>

        init(_ columns: Int) {
            self.columns = columns
            storage = .allocate(capacity: columns * 256)
        }

        deinit { storage.deallocate() }

        /// Start of column c (valid for `count` rows).
        @inline(__always)
        func column(_ c: Int) -> UnsafePointer<Double> { UnsafePointer(storage + c * capacity) }

        @inline(__always)
        mutating func reserveOneMore() {
            if count < capacity { return }
            let newCapacity = capacity * 2
            let bigger = UnsafeMutablePointer<Double>.allocate(capacity: columns * newCapacity)
            for c in 0..<columns { (bigger + c * newCapacity).update(from: storage + c * capacity, count: count) }
            storage.deallocate()
            storage = bigger
            capacity = newCapacity
        }

        @inline(__always)
        mutating func append3(_ a: Double, _ b: Double, _ c: Double) {
            reserveOneMore()
            storage[count] = a; storage[capacity + count] = b; storage[2 * capacity + count] = c
            count += 1
        }

        @inline(__always)
        mutating func append10(_ v0: Double, _ v1: Double, _ v2: Double, _ v3: Double, _ v4: Double,
                               _ v5: Double, _ v6: Double, _ v7: Double, _ v8: Double, _ v9: Double) {
            reserveOneMore()
            let k = capacity
            storage[count] = v0; storage[k + count] = v1; storage[2 * k + count] = v2; storage[3 * k + count] = v3
            storage[4 * k + count] = v4; storage[5 * k + count] = v5; storage[6 * k + count] = v6
            storage[7 * k + count] = v7; storage[8 * k + count] = v8; storage[9 * k + count] = v9
            count += 1
        }
    }
}

/// The vector kernels that sum an interaction list for one target.
struct InteractionKernel {
    typealias V = SIMD4<Double>
    let cutoff2: Double
    let softeningRadius: Double
    /// 1 / (2 r_s): u = r / (2 r_s) is the argument of the erfc truncation.
    let inverseTwoSplit: Double

    init(split: ForceSplit, softeningRadius: Double) {
        cutoff2 = split.cutoff * split.cutoff
        self.softeningRadius = softeningRadius
        inverseTwoSplit = 1 / (2 * split.splitScale)
    }

    /// Σ over the particle list of s1(r) f_soft(r) (x_j − x_t), unscaled by G m.
    /// Two independent blocks of four per iteration keep both FMA pipes and
    /// the divider busy (a single block is one long dependency chain).
    @inline(never)
    func sumParticles(_ list: borrowing InteractionList, target t: SIMD3<Double>) -> SIMD3<Double> {
        var ax = V.zero, ay = V.zero, az = V.zero
        var bx = V.zero, by = V.zero, bz = V.zero
        let tx = V(repeating: t.x), ty = V(repeating: t.y), tz = V(repeating: t.z)
        let px = list.particles.column(0), py = list.particles.column(1), pz = list.particles.column(2)
        var i = 0
        let n = list.particles.count
        while i < n {
            let dx0 = load(px, i) - tx, dy0 = load(py, i) - ty, dz0 = load(pz, i) - tz
            let dx1 = load(px, i + 4) - tx, dy1 = load(py, i + 4) - ty, dz1 = load(pz, i + 4) - tz
            let f0 = pairFactor(dx0 * dx0 + dy0 * dy0 + dz0 * dz0)
            let f1 = pairFactor(dx1 * dx1 + dy1 * dy1 + dz1 * dz1)
            ax += f0 * dx0; ay += f0 * dy0; az += f0 * dz0
            bx += f1 * dx1; by += f1 * dy1; bz += f1 * dz1
            i += InteractionList.particleWidth
        }
        return SIMD3((ax + bx).sum(), (ay + by).sum(), (az + bz).sum())
    }

    /// s1(r) f_soft(r) for squared separations r2; zero beyond the cut-off and for r = 0.
    @inline(__always)
    private func pairFactor(_ r2: V) -> V {
        let inside = (r2 .< V(repeating: cutoff2)) .& (r2 .> V.zero)
        let safe = V.one.replacing(with: r2, where: inside)
        let rinv: V = 1 / safe.squareRoot()
        var f: V = rinv * rinv * rinv
        if any(safe .< V(repeating: softeningRadius * softeningRadius)) { f = softened(safe, f) }
        f *= truncation(safe * rinv)
        return V.zero.replacing(with: f, where: inside)
    }

    /// s1(u) = erfc u + (2/√π) u e^(−u²), u = r / 2r_s, to ~2e-7 (the
    /// accuracy of the erfc approximation; e^x needs no more).
    @inline(__always)
    private func truncation(_ r: V) -> V {
        let u: V = r * inverseTwoSplit
        let e: V = Self.expNegative(-(u * u), degree7: true)
        let g: V = 1.1283791670955126 * u
        return e * (Self.scaledErfc(u) + g)
    }

    /// GADGET's spline kernel for lanes with r < h (others keep `newtonian`).
    @inline(__always)
    private func softened(_ r2: V, _ newtonian: V) -> V {
        let hinv = 1 / softeningRadius
        let h3 = V(repeating: hinv * hinv * hinv)
        let u: V = r2.squareRoot() * hinv
        let u2: V = u * u
        let u3: V = u2 * u
        var inner: V = 32.0 * u - 38.4
        inner = inner * u2 + 10.666666666667
        var outer: V = 38.4 * u2 - 48.0 * u
        outer += 21.333333333333 - 10.666666666667 * u3
        outer -= 0.066666666667 / u3
        let spline: V = h3 * outer.replacing(with: inner, where: u .< 0.5)
        return newtonian.replacing(with: spline, where: u .< 1)
    }

    /// Σ over the node list of monopole and quadrupole terms, unscaled by G.
    @inline(never)
    func sumNodes(_ list: borrowing InteractionList, target t: SIMD3<Double>) -> SIMD3<Double> {
        var ax = V.zero, ay = V.zero, az = V.zero
        let tx = V(repeating: t.x), ty = V(repeating: t.y), tz = V(repeating: t.z)
        let cut = V(repeating: cutoff2)
        let nx = list.nodes.column(0), ny = list.nodes.column(1), nz = list.nodes.column(2), mass = list.nodes.column(3)
        let qxx = list.nodes.column(4), qyy = list.nodes.column(5), qzz = list.nodes.column(6)
        let qxy = list.nodes.column(7), qxz = list.nodes.column(8), qyz = list.nodes.column(9)
        var i = 0
        let n = list.nodes.count
        while i < n {
            // R = target − centre of mass.
            let rx = tx - load(nx, i), ry = ty - load(ny, i), rz = tz - load(nz, i)
            let r2 = rx * rx + ry * ry + rz * rz
            let inside = r2 .< cut
            let safe = V.one.replacing(with: r2, where: inside)
            let rinv = 1 / safe.squareRoot()
            let rinv2 = rinv * rinv
            let rinv3 = rinv2 * rinv
            let (s1, s2, s3) = truncationFactors(safe * rinv)
            let m = V.zero.replacing(with: load(mass, i), where: inside)
            // Monopole: −M s1 / r³ R.
            let mono = -m * s1 * rinv3
            // Quadrupole: −½ [D3 R (R·Q·R) + D2 (2 Q R + tr Q R)], D2 = s2 / r⁵, D3 = s3 / r⁷.
            let a = load(qxx, i), b = load(qyy, i), cc = load(qzz, i), d = load(qxy, i), e = load(qxz, i), f = load(qyz, i)
            let qrx = a * rx + d * ry + e * rz
            let qry = d * rx + b * ry + f * rz
            let qrz = e * rx + f * ry + cc * rz
            let rqr = rx * qrx + ry * qry + rz * qrz
            let trace = a + b + cc
            let d2 = s2 * rinv3 * rinv2
            let d3 = s3 * rinv3 * rinv2 * rinv2
            let radial = V.zero.replacing(with: mono - 0.5 * (d3 * rqr + d2 * trace), where: inside)
            let tangential = V.zero.replacing(with: -d2, where: inside)
            ax += radial * rx + tangential * qrx
            ay += radial * ry + tangential * qry
            az += radial * rz + tangential * qrz
            i += Self.widthStep
        }
        return SIMD3(ax.sum(), ay.sum(), az.sum())
    }

    static let widthStep = InteractionList.width

    @inline(__always)
    private func load(_ p: UnsafePointer<Double>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    /// erfc(u) e^(u²) to 1.5e-7 of erfc (Abramowitz & Stegun 7.1.26).
    @inline(__always)
    private static func scaledErfc(_ u: V) -> V {
        let t: V = 1 / (0.3275911 * u + 1)
        var p: V = 1.061405429 * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        return p * t
    }

    /// s1, s2, s3 of `ForceSplit.factors`, vectorised.
    @inline(__always)
    private func truncationFactors(_ r: V) -> (V, V, V) {
        let u: V = r * inverseTwoSplit
        let u2: V = u * u
        let e: V = Self.expNegative(-u2)
        let erfc: V = e * Self.scaledErfc(u)
        let g: V = 1.1283791670955126 * u * e
        let s1: V = erfc + g
        let s2: V = -3 * erfc - g * (2 * u2 + 3)
        var poly3: V = 4 * u2 + 10
        poly3 = poly3 * u2 + 15
        let s3: V = 15 * erfc + g * poly3
        return (s1, s2, s3)
    }

    /// e^x for x ≤ 0: x = k ln 2 + f, |f| ≤ ln2/2, e^f by its Taylor series
    /// (degree 12: ~1e-15; degree 7: ~5e-9), 2^k through the exponent bits.
    @inline(__always)
    static func expNegative(_ x: V, degree7: Bool = false) -> V {
        let clamped = x.replacing(with: -700, where: x .< -700)
        let k = (clamped * 1.4426950408889634).rounded(.toNearestOrEven)
        let f = clamped - k * 0.6931471803691238 - k * 1.9082149292705877e-10
        var p: V
        if degree7 {
            p = V(repeating: 1.0 / 5040)
        } else {
            p = V(repeating: 1.0 / 479001600)
            p = p * f + 1.0 / 39916800
            p = p * f + 1.0 / 3628800
            p = p * f + 1.0 / 362880
            p = p * f + 1.0 / 40320
            p = p * f + 1.0 / 5040
        }
        p = p * f + 1.0 / 720
        p = p * f + 1.0 / 120
        p = p * f + 1.0 / 24
        p = p * f + 1.0 / 6
        p = p * f + 0.5
        p = p * f + 1
        p = p * f + 1
        // 2^k without a (scalarised) float-to-int conversion: adding 2⁵² + 1023 puts
        // the integer k + 1023 in the low mantissa bits; move it to the exponent.
        let biased = unsafeBitCast(k + 4_503_599_627_371_519.0, to: SIMD4<UInt64>.self) & 0x7ff
        return p * unsafeBitCast(biased &<< 52, to: V.self)
    }
}
