/// Random numbers for Fourier modes that depend only on the seed and the
/// mode, not on the order modes are visited or on which rank visits them,
/// so initial conditions are identical for any number of ranks.
struct ModeRandomness {
    let seed: UInt64

    /// SplitMix64 finaliser: a bijective, well-mixing hash.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Two uniform numbers in (0, 1] for mode (mx, my, mz) (signed indices).
    func uniforms(_ mx: Int, _ my: Int, _ mz: Int) -> (Double, Double) {
        // Chain the hash through seed and the three indices, so no two modes share a key.
        var a = Self.mix(seed)
        a = Self.mix(a ^ UInt64(bitPattern: Int64(mx)))
        a = Self.mix(a ^ UInt64(bitPattern: Int64(my)))
        a = Self.mix(a ^ UInt64(bitPattern: Int64(mz)))
        let b = Self.mix(a ^ 0x5851_F42D_4C95_7F2D)
        let scale = 1.0 / 9_007_199_254_740_992.0  // 2^-53
        return (Double((a >> 11) + 1) * scale, Double((b >> 11) + 1) * scale)
    }

    /// A complex Gaussian number with ⟨|g|²⟩ = 1: Rayleigh amplitude √(−ln u₁)
    /// and uniform phase 2π u₂, as N-GenIC draws its modes.
    func gaussian(_ mx: Int, _ my: Int, _ mz: Int) -> (re: Double, im: Double) {
        let (u1, u2) = uniforms(mx, my, mz)
        let amplitude = (-Foundation.log(u1)).squareRoot()
        let phase = 2 * Double.pi * u2
        return (amplitude * Foundation.cos(phase), amplitude * Foundation.sin(phase))
    }
}

import Foundation
