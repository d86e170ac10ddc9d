import Foundation
import Testing
@testable import Simulation

@Suite struct ShortRangeForceLaw {
    let split = ForceSplit(gravity: 1, boxSize: 64, meshSize: 64, asmth: 1.25, rcut: 7)

    /// s1, s2, s3 are r³, r⁵ and r⁷ times the first three radial derivative
    /// factors of φ = −erfc(r/2r_s)/r; check them against central
    /// differences of the exact potential (Foundation's erfc), to 1e-6 —
    /// the erfc approximation is good to 1.5e-7 absolute.
    @Test func truncationFactorsAreDerivativesOfThePotential() {
        let rs = split.splitScale
        func phi(_ r: Double) -> Double { -erfc(r / (2 * rs)) / r }
        func d1(_ r: Double) -> Double { let h = 1e-5 * r; return (phi(r + h) - phi(r - h)) / (2 * h) / r }
        func d2(_ r: Double) -> Double { let h = 1e-4 * r; return (d1(r + h) - d1(r - h)) / (2 * h) / r }
        for r in stride(from: 0.2, through: split.cutoff, by: 0.37) {
            let (s1, s2, _) = split.factors(r: r)
            #expect(abs(s1 - d1(r) * pow(r, 3)) < 1e-6, "s1 at r = \(r)")
            #expect(abs(s2 - d2(r) * pow(r, 5)) < 3e-5 * 3, "s2 at r = \(r)")
        }
        let (s1, s2, s3) = split.factors(r: 1e-6)
        #expect(abs(s1 - 1) < 1e-6 && abs(s2 + 3) < 1e-6 && abs(s3 - 15) < 1e-6)
    }

    /// GADGET's spline equals 1/r³ outside h and is continuous at h/2 and h.
    @Test func splineSofteningIsContinuous() {
        let h = 0.3
        for r in [0.5 * h, h] {
            let below = ForceSplit.softenedInverseCube(r: r * (1 - 1e-9), h: h)
            let above = ForceSplit.softenedInverseCube(r: r * (1 + 1e-9), h: h)
            #expect(abs(below / above - 1) < 1e-6)
        }
        #expect(ForceSplit.softenedInverseCube(r: 2 * h, h: h) == 1 / (8 * h * h * h))
    }

    /// The vector kernels sum an interaction list exactly as a scalar loop
    /// over the same terms (particles softened and truncated, nodes with
    /// quadrupoles), to 1e-7 relative: they differ only in the degree-7 exp
    /// series (5e-9 of each term, amplified by the partial cancellation of
    /// random contributions) and summation order.
    @Test func vectorKernelsMatchScalarSums() {
        var generator = SystemRandomNumberGenerator()
        let h = 0.2
        let kernel = InteractionKernel(split: split, softeningRadius: h)
        var list = InteractionList()
        var particles: [SIMD3<Double>] = []
        var nodes: [(SIMD3<Double>, Double, SIMD8<Double>)] = []
        for _ in 0..<203 {
            let d = SIMD3(Double.random(in: -9..<9, using: &generator), Double.random(in: -9..<9, using: &generator),
                          Double.random(in: -9..<9, using: &generator))
            particles.append(d)
            list.appendParticle(d)
        }
        particles.append(SIMD3(0.05, 0.02, -0.01))  // inside the softening radius of the target
        list.appendParticle(particles.last!)
        for _ in 0..<37 {
            let d = SIMD3(Double.random(in: -9..<9, using: &generator), Double.random(in: -9..<9, using: &generator),
                          Double.random(in: -9..<9, using: &generator))
            var q = SIMD8<Double>.zero
            for i in 0..<3 { q[i] = Double.random(in: 0..<1, using: &generator) }
            for i in 3..<6 { q[i] = Double.random(in: -0.3..<0.3, using: &generator) }
            let m = Double.random(in: 1..<5, using: &generator)
            nodes.append((d, m, q))
            list.appendNode(d, mass: m, quadrupole: q)
        }
        list.pad()
        let target = SIMD3(0.01, -0.02, 0.03)
        var expectedParticles = SIMD3<Double>.zero
        for p in particles {
            let d = p - target
            let r = (d * d).sum().squareRoot()
            if r >= split.cutoff { continue }
            expectedParticles += ForceSplit.softenedInverseCube(r: r, h: h) * split.forceFactor(r: r) * d
        }
        var expectedNodes = SIMD3<Double>.zero
        for (c, m, q) in nodes {
            let rr = target - c
            let r2 = (rr * rr).sum(), r = r2.squareRoot()
            if r >= split.cutoff { continue }
            let (s1, s2, s3) = split.factors(r: r)
            let qr = SIMD3(q[0] * rr.x + q[3] * rr.y + q[4] * rr.z, q[3] * rr.x + q[1] * rr.y + q[5] * rr.z,
                           q[4] * rr.x + q[5] * rr.y + q[2] * rr.z)
            let rqr = (rr * qr).sum(), trace = q[0] + q[1] + q[2]
            let d2 = s2 / pow(r, 5), d3 = s3 / pow(r, 7)
            let monopole: SIMD3<Double> = (-m * s1 / (r2 * r)) * rr
            let radial: SIMD3<Double> = (d3 * rqr + d2 * trace) * rr
            let quadrupole: SIMD3<Double> = -0.5 * (radial + (2 * d2) * qr)
            expectedNodes += monopole + quadrupole
        }
        let gotParticles = kernel.sumParticles(list, target: target)
        let gotNodes = kernel.sumNodes(list, target: target)
        let ep = expectedParticles - gotParticles, en = expectedNodes - gotNodes
        #expect((ep * ep).sum().squareRoot() / (expectedParticles * expectedParticles).sum().squareRoot() < 1e-7)
        #expect((en * en).sum().squareRoot() / (expectedNodes * expectedNodes).sum().squareRoot() < 1e-7)
    }
}
