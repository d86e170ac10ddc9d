import Foundation

/// The TreePM split of Newtonian gravity (Bagla 2002; GADGET-2/4): the mesh
/// carries the long-range part, smoothed by exp(−k² r_s²) in Fourier space,
/// and the tree the short-range rest, whose potential is −G m erfc(r/2r_s)/r,
/// cut off at RCUT · r_s. Close pairs are softened with GADGET's cubic spline
/// of radius h = 2.8 ε.
public struct ForceSplit: Sendable {
    public let gravity: Double
    /// Split scale r_s = ASMTH · L / PMGRID.
    public let splitScale: Double
    /// Short-range cut-off radius RCUT · r_s.
    public let cutoff: Double

    public init(gravity: Double, boxSize: Double, meshSize: Int, asmth: Double, rcut: Double) {
        self.gravity = gravity
        splitScale = asmth * boxSize / Double(meshSize)
        cutoff = rcut * splitScale
    }

    /// erfc(u) to 1.5e-7 absolute (Abramowitz & Stegun 7.1.26), given e^(−u²).
    @inline(__always)
    public static func erfc(_ u: Double, expMinusU2 e: Double) -> Double {
        let t = 1 / (1 + 0.3275911 * u)
        return t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * e
    }

    /// The short-range factors at separation r: with u = r / (2 r_s),
    /// s1 = erfc u + (2/√π) u e^(−u²)            (force   = G m s1 / r³ · r⃗)
    /// s2 = −3 erfc u − (2/√π)(3u + 2u³) e^(−u²)  (r⁵ · the second radial derivative factor)
    /// s3 = 15 erfc u + (2/√π)(15u + 10u³ + 4u⁵) e^(−u²)
    /// which reduce to 1, −3, 15 for a pure 1/r potential.
    @inline(__always)
    public func factors(r: Double) -> (s1: Double, s2: Double, s3: Double) {
        let u = r / (2 * splitScale)
        let u2 = u * u
        let e = Foundation.exp(-u2)
        let erfc = Self.erfc(u, expMinusU2: e)
        let g = 1.1283791670955126 * u * e  // (2/√π) u e^(−u²)
        return (erfc + g, -3 * erfc - g * (3 + 2 * u2), 15 * erfc + g * (15 + u2 * (10 + 4 * u2)))
    }

    /// Just s1, for particle–particle pairs.
    @inline(__always)
    public func forceFactor(r: Double) -> Double {
        let u = r / (2 * splitScale)
        let e = Foundation.exp(-u * u)
        return Self.erfc(u, expMinusU2: e) + 1.1283791670955126 * u * e
    }

    /// GADGET's spline-softened 1/r³ at separation r for softening radius h
    /// (h = 2.8 ε): the factor f with a⃗ = G m f r⃗; equal to 1/r³ for r ≥ h.
    @inline(__always)
    public static func softenedInverseCube(r: Double, h: Double) -> Double {
        if r >= h { return 1 / (r * r * r) }
        let hinv = 1 / h
        let u = r * hinv
        let h3 = hinv * hinv * hinv
        if u < 0.5 { return h3 * (10.666666666667 + u * u * (32.0 * u - 38.4)) }
        return h3 * (21.333333333333 - 48.0 * u + 38.4 * u * u - 10.666666666667 * u * u * u - 0.066666666667 / (u * u * u))
    }
}
