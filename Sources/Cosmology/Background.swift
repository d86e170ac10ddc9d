import Foundation

/// The homogeneous expanding background of a ΛCDM universe (flat or curved,
/// no radiation, as in GADGET-4): the Hubble rate and the time integrals that
/// comoving integration needs.
public struct Background: Sendable, Equatable {
    public let omegaMatter: Double
    public let omegaLambda: Double
    /// H0 in internal units (GADGET-4's `Hubble`, 100 for km/s/(Mpc/h)).
    public let hubble0: Double

    public init(omegaMatter: Double, omegaLambda: Double, hubble0: Double = 100) {
        self.omegaMatter = omegaMatter
        self.omegaLambda = omegaLambda
        self.hubble0 = hubble0
    }

    public var omegaCurvature: Double { 1 - omegaMatter - omegaLambda }

    /// E(a) = H(a)/H0.
    @inline(__always)
    public func e(_ a: Double) -> Double {
        (omegaMatter / (a * a * a) + omegaCurvature / (a * a) + omegaLambda).squareRoot()
    }

    public func hubble(_ a: Double) -> Double { hubble0 * e(a) }

    /// Ω_m(a), the matter density in units of the critical density at a.
    public func omegaMatter(at a: Double) -> Double {
        let ee = e(a)
        return omegaMatter / (a * a * a * ee * ee)
    }

    /// d ln E / d ln a.
    public func logarithmicSlopeOfE(_ a: Double) -> Double {
        let ee = e(a)
        return -(3 * omegaMatter / (a * a * a) + 2 * omegaCurvature / (a * a)) / (2 * ee * ee)
    }

    /// ∫ da / (a³ H) from a0 to a1: the factor that turns the canonical
    /// momentum into a comoving displacement in a leapfrog drift.
    public func driftFactor(from a0: Double, to a1: Double) -> Double {
        Quadrature.integrate(log(a0), log(a1), relativeTolerance: 1e-12) { lna in
            let a = exp(lna)
            return 1 / (a * a * hubble(a))
        }
    }

    /// ∫ da / (a² H) from a0 to a1: the factor that turns a comoving
    /// acceleration into a change of canonical momentum in a leapfrog kick.
    public func kickFactor(from a0: Double, to a1: Double) -> Double {
        Quadrature.integrate(log(a0), log(a1), relativeTolerance: 1e-12) { lna in
            let a = exp(lna)
            return 1 / (a * hubble(a))
        }
    }

    /// Cosmic time between a0 and a1, ∫ da / (a H).
    public func time(from a0: Double, to a1: Double) -> Double {
        Quadrature.integrate(log(a0), log(a1), relativeTolerance: 1e-12) { lna in 1 / hubble(exp(lna)) }
    }
}
