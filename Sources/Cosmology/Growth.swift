import Foundation

/// Linear growth of density perturbations in ΛCDM. For a cosmological
/// constant (with or without curvature) the growing mode has the closed form
/// D(a) ∝ E(a) ∫₀ᵃ da' / (a' E(a'))³ (Heath 1977), so no ODE is needed.
public struct LinearGrowth: Sendable {
    public let background: Background
    private let presentGrowth: Double

    public init(_ background: Background) {
        self.background = background
        self.presentGrowth = Self.unnormalizedGrowth(background, 1.0)
    }

    /// ∫₀ᵃ da' / (a' E)³, with a' = t² to remove the √a' behaviour at 0.
    private func growthIntegral(_ a: Double) -> Double { Self.growthIntegral(background, a) }

    private static func unnormalizedGrowth(_ background: Background, _ a: Double) -> Double {
        2.5 * background.omegaMatter * background.e(a) * growthIntegral(background, a)
    }

    private static func growthIntegral(_ background: Background, _ a: Double) -> Double {
        let om = background.omegaMatter, ok = background.omegaCurvature, ol = background.omegaLambda
        return Quadrature.integrate(0, a.squareRoot(), relativeTolerance: 1e-13) { t in
            // 1/(a E)^3 = a^{3/2} / (Ωm + Ωk a + ΩΛ a³)^{3/2}; da = 2t dt
            let a = t * t
            let denominator = om + ok * a + ol * a * a * a
            return 2 * t * a * t / (denominator * denominator.squareRoot())
        }
    }

    /// D(a), normalised so that D = a deep in matter domination (D = a exactly
    /// for Einstein–de Sitter).
    public func growth(_ a: Double) -> Double { Self.unnormalizedGrowth(background, a) }

    /// D(a)/D(1): the growth relative to today, as GADGET-4 prints it.
    public func normalizedGrowth(_ a: Double) -> Double { growth(a) / presentGrowth }

    /// f(a) = d ln D / d ln a, exact for ΛCDM:
    /// f = d ln E/d ln a + 1 / (a² E³ I(a)).
    public func growthRate(_ a: Double) -> Double {
        let ee = background.e(a)
        return background.logarithmicSlopeOfE(a) + 1 / (a * a * ee * ee * ee * growthIntegral(a))
    }

    /// Second-order (2LPT) growth D₂ ≈ −3/7 D₁² Ω_m(a)^(−1/143) (Bouchet et al.
    /// 1995), accurate to better than 0.1 % for the Ω_m(a) ≈ 1 of starting redshifts.
    public func secondOrderGrowth(_ a: Double) -> Double {
        let d = growth(a)
        return -3.0 / 7.0 * d * d * pow(background.omegaMatter(at: a), -1.0 / 143.0)
    }

    /// f₂(a) = d ln D₂ / d ln a ≈ 2 Ω_m(a)^(4/7) (Bouchet et al. 1995).
    public func secondOrderGrowthRate(_ a: Double) -> Double {
        2 * pow(background.omegaMatter(at: a), 4.0 / 7.0)
    }
}
