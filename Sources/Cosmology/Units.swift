/// GADGET-4's unit system: three base units chosen in the parameter file,
/// everything else derived, with GADGET-4's physical constants so that
/// particle masses and G agree with its outputs to the last digit.
public struct UnitSystem: Sendable, Equatable {
    public static let gravityCGS = 6.6738e-8          // GADGET-4's GRAVITY
    public static let hubbleCGS = 3.2407789e-18       // H0 for h = 1, in 1/s (GADGET-4's HUBBLE)
    public static let secondsPerMegayear = 3.15576e13

    public let lengthInCm: Double
    public let massInG: Double
    public let velocityInCmPerS: Double

    public init(lengthInCm: Double, massInG: Double, velocityInCmPerS: Double) {
        self.lengthInCm = lengthInCm
        self.massInG = massInG
        self.velocityInCmPerS = velocityInCmPerS
    }

    /// Mpc/h, 1e10 Msun/h, km/s: GADGET-4's usual choice.
    public static let gadget = UnitSystem(lengthInCm: 3.085678e24, massInG: 1.989e43, velocityInCmPerS: 1e5)

    public var timeInS: Double { lengthInCm / velocityInCmPerS }

    /// Newton's G in internal units.
    public var gravitationalConstant: Double {
        Self.gravityCGS * massInG * timeInS * timeInS / (lengthInCm * lengthInCm * lengthInCm)
    }

    /// H0 for h = 1 in internal units (100 for Mpc/h and km/s).
    public var hubbleForLittleHOne: Double { Self.hubbleCGS * timeInS }
}

extension Background {
    /// ρ_crit = 3 H0² / (8 π G) in internal units, with H0 as given (GADGET-4's `Hubble`).
    public func criticalDensity(gravitationalConstant g: Double) -> Double {
        3 * hubble0 * hubble0 / (8 * Double.pi * g)
    }
}
