import Analysis
import Cosmology
import Foundation
import Simulation
import Testing
import TestSupport

/// A 64³ run from g4sim's own 2LPT initial conditions: on the largest
/// scales, P(k) must grow as D(a)² from z = 63 to z = 10.
@Suite struct LinearGrowth64 {
    /// Lowest-k shells (|m| = 1…3 of the fundamental, 6–98 modes each): with the
    /// same phases at both times cosmic variance cancels in the ratio, and
    /// nonlinear corrections at z = 10 are below 1e-3 there, so 1 % tests the
    /// integration (the tolerance).
    @Test func lowestModesGrowAsGrowthFactorSquared() throws {
        let aEnd = 1.0 / 11
        let parameters = try SimulationRuns.n32Parameters([
            "NGENIC": "64", "NGENIC_2LPT": "1", "NSample": "64", "GridSize": "64", "Seed": "4711", "SphereMode": "1",
            "PowerSpectrumType": "0", "ReNormalizeInputSpectrum": "1", "PrimordialIndex": "1.0", "ShapeGamma": "0.21",
            "Sigma8": "0.9", "PowerSpectrumFile": "powerspec", "InputSpectrum_UnitLength_in_cm": "3.085678e21",
            "InitCondFile": "./none", "TimeMax": String(aEnd), "OutputListOn": "0", "TimeOfFirstSnapshot": "0.015625",
            "TimeBetSnapshot": String(aEnd / 0.015625), "PMGRID": "64", "ASMTH": "1.25", "RCUT": "4.5",
            "MaxSizeTimestep": "0.02", "ErrTolForceAcc": "0.005", "SofteningComovingClass0": "0.02", "SofteningMaxPhysClass0": "0.02",
            "FOF": "0", "POWERSPEC_ON_OUTPUT": "0",
        ])
        let run = try SimulationRuns.run("growth64", ranks: 2, parameters: parameters)
        let growth = Cosmology.LinearGrowth(Background(omegaMatter: 0.308, omegaLambda: 0.692))
        let expected = pow(growth.growth(aEnd) / growth.growth(0.015625), 2)
        let early = try ReferenceRun.shells(run.snapshot(0)), late = try ReferenceRun.shells(run.snapshot(1))
        for (a, b) in zip(early, late).prefix(3) {
            let ratio = b.power / a.power / expected
            print(String(format: "growth: k = %.3f, (P(z=10)/P(z=63)) / (D10/D63)² = %.5f", a.k, ratio))
            #expect(abs(ratio - 1) < 0.01, "k = \(a.k)")
        }
    }
}
