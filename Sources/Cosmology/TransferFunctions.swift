import Foundation

/// Fitting formulae for the matter transfer function T(k), with k in h/Mpc.
/// These are the analytic shapes N-GenIC (and GADGET-4's NGENIC) offer.
public enum TransferFunctions {
    /// Efstathiou, Bond & White (1992) shape-Γ spectrum as N-GenIC writes it
    /// (PowerSpectrumType 0): P ∝ k / [1 + (a k + (b k)^1.5 + (c k)²)^ν]^(2/ν).
    /// Returns T²(k), i.e. P/k.
    public static func efstathiouSquared(k: Double, shapeGamma: Double) -> Double {
        let a = 6.4 / shapeGamma, b = 3.0 / shapeGamma, c = 1.7 / shapeGamma, nu = 1.13
        return 1 / pow(1 + pow(a * k + pow(b * k, 1.5) + c * c * k * k, nu), 2 / nu)
    }

    /// Eisenstein & Hu (1998) zero-baryon shape with the baryon suppression of
    /// the effective shape parameter, no acoustic oscillations (their eqs. 29-31),
    /// as N-GenIC's PowerSpectrumType 1 evaluates it (CMB temperature 2.728 K;
    /// Ω_b = 0 is taken as Ω_b h² = 0.04 h², as N-GenIC does).
    public static func eisensteinHuNoWiggle(k: Double, omegaMatter: Double, omegaBaryon: Double,
                                            h: Double, cmbTemperature: Double = 2.728) -> Double {
        let ombh2 = omegaBaryon == 0 ? 0.04 * h * h : omegaBaryon * h * h
        let theta = cmbTemperature / 2.7
        let ommh2 = omegaMatter * h * h
        let s = 44.5 * log(9.83 / ommh2) / (1 + 10 * pow(ombh2, 0.75)).squareRoot() * h  // Mpc/h
        let fb = ombh2 / ommh2
        let alpha = 1 - 0.328 * log(431 * ommh2) * fb + 0.380 * log(22.3 * ommh2) * fb * fb
        let gamma = omegaMatter * h * (alpha + (1 - alpha) / (1 + pow(0.43 * k * s, 4)))
        let q = k * theta * theta / gamma
        let l0 = log(2 * M_E + 1.8 * q)
        let c0 = 14.2 + 731 / (1 + 62.5 * q)
        return l0 / (l0 + c0 * q * q)
    }

    /// Eisenstein & Hu (1998, ApJ 496, 605) full transfer function of cold
    /// dark matter plus baryons, with baryon acoustic oscillations (eqs. 2-24),
    /// at N-GenIC's CMB temperature of 2.728 K unless told otherwise.
    public struct EisensteinHu: Sendable {
        let fb: Double, fc: Double, h: Double
        let kEq: Double, s: Double, kSilk: Double
        let alphaC: Double, betaC: Double, alphaB: Double, betaB: Double, betaNode: Double

        public init(omegaMatter: Double, omegaBaryon: Double, h: Double, cmbTemperature: Double = 2.728) {
            let theta = cmbTemperature / 2.7
            let om = omegaMatter * h * h, ob = omegaBaryon * h * h
            self.h = h
            fb = omegaBaryon / omegaMatter
            fc = 1 - fb
            let theta2 = theta * theta
            let zEq = 2.50e4 * om / (theta2 * theta2)
            kEq = 7.46e-2 * om / theta2
            let b1 = 0.313 * pow(om, -0.419) * (1 + 0.607 * pow(om, 0.674))
            let b2 = 0.238 * pow(om, 0.223)
            let zD = 1291 * pow(om, 0.251) / (1 + 0.659 * pow(om, 0.828)) * (1 + b1 * pow(ob, b2))
            func baryonPhotonRatio(_ z: Double) -> Double { 31.5 * ob / (theta2 * theta2) * (1000 / z) }
            let rD = baryonPhotonRatio(zD), rEq = baryonPhotonRatio(zEq)
            s = 2 / (3 * kEq) * (6 / rEq).squareRoot()
                * log(((1 + rD).squareRoot() + (rD + rEq).squareRoot()) / (1 + rEq.squareRoot()))
            kSilk = 1.6 * pow(ob, 0.52) * pow(om, 0.73) * (1 + pow(10.4 * om, -0.95))
            let a1 = pow(46.9 * om, 0.670) * (1 + pow(32.1 * om, -0.532))
            let a2 = pow(12.0 * om, 0.424) * (1 + pow(45.0 * om, -0.582))
            alphaC = pow(a1, -fb) * pow(a2, -fb * fb * fb)
            let bb1 = 0.944 / (1 + pow(458 * om, -0.708))
            let bb2 = pow(0.395 * om, -0.0266)
            betaC = 1 / (1 + bb1 * (pow(fc, bb2) - 1))
            let y = (1 + zEq) / (1 + zD)
            let sq = (1 + y).squareRoot()
            let g = y * (-6 * sq + (2 + 3 * y) * log((sq + 1) / (sq - 1)))
            alphaB = 2.07 * kEq * s * pow(1 + rD, -0.75) * g
            betaNode = 8.41 * pow(om, 0.435)
            betaB = 0.5 + fb + (3 - 2 * fb) * ((17.2 * om) * (17.2 * om) + 1).squareRoot()
        }

        /// T(k) for k in h/Mpc.
        public func transfer(_ kh: Double) -> Double {
            let k = kh * h  // 1/Mpc
            let q = k / (13.41 * kEq)
            func tilde(_ alpha: Double, _ beta: Double) -> Double {
                let l = log(M_E + 1.8 * beta * q)
                let c = 14.2 / alpha + 386 / (1 + 69.9 * pow(q, 1.08))
                return l / (l + c * q * q)
            }
            let ks = k * s
            let f = 1 / (1 + pow(ks / 5.4, 4))
            let cdm = f * tilde(1, betaC) + (1 - f) * tilde(alphaC, betaC)
            let sTilde = s / pow(1 + pow(betaNode / ks, 3), 1.0 / 3.0)
            let x = k * sTilde
            let j0 = x < 1e-6 ? 1 - x * x / 6 : sin(x) / x
            let baryon = (tilde(1, 1) / (1 + (ks / 5.2) * (ks / 5.2))
                + alphaB / (1 + pow(betaB / ks, 3)) * exp(-pow(k / kSilk, 1.4))) * j0
            return fb * baryon + fc * cdm
        }
    }
}
