import Cosmology
import Foundation
import Parallel
import Snapshots
import Testing
import TestSupport

/// The Zel'dovich pancake (Efstathiou et al. 1985): a single plane wave in
/// an Einstein–de Sitter universe, whose Zel'dovich solution
/// x(q, a) = q − (a / a_c) sin(kq) / k is exact until shells cross at a_c.
@Suite struct ZeldovichPancake {
    static let box = 50.0
    static let n = 32
    static let crossing = 1.0
    static let start = 0.05
    static let end = 0.5  // half way to shell crossing: displacements up to 0.08 L

    static func displacement(_ q: Double, _ a: Double) -> Double {
        let k = 2 * Double.pi / box
        return -(a / crossing) * sin(k * q) / k
    }

    /// Particles on a 32³ lattice displaced along x; velocities in GADGET's
    /// u = v/√a, which for D = a is H0 · ψ (constant in time).
    func writeInitialConditions(to path: String) throws {
        let spacing = Self.box / Double(Self.n)
        var block = ParticleBlock()
        for i in 0..<Self.n { for j in 0..<Self.n { for k in 0..<Self.n {
            let q = SIMD3(Double(i), Double(j), Double(k)) * spacing
            let psi = Self.displacement(q.x, 1)
            var x = q.x + Self.start * psi
            x -= Self.box * (x / Self.box).rounded(.down)
            block.positions += [x, q.y, q.z]
            block.velocities += [100 * psi, 0, 0]
            block.ids.append(UInt64((i * Self.n + j) * Self.n + k + 1))
        } } }
        let units = UnitSystem.gadget
        let rho = Background(omegaMatter: 1, omegaLambda: 0).criticalDensity(gravitationalConstant: units.gravitationalConstant)
        let mass = rho * pow(Self.box, 3) / Double(block.count)
        let header = SnapshotHeader(boxSize: Self.box, time: Self.start, particleMass: mass, totalParticles: UInt64(block.count))
        try InProcessMPI.run {
            try HDF5Snapshot.write(block, header: header, paths: [path], units: units, communicator: .world)
        }
    }

    /// Before shell crossing, every particle sits where the analytic
    /// solution puts it, to 1e-3 of the box (the tolerance; the
    /// largest displacement is 0.08 of the box), and stays in its plane.
    @Test func collapseFollowsZeldovichBeforeShellCrossing() throws {
        let setup = TestEnvironment.temporaryDirectory("pancake-ics")
        let ics = setup.appendingPathComponent("pancake.hdf5")
        try writeInitialConditions(to: ics.path)
        let parameters = try SimulationRuns.n32Parameters([
            "InitCondFile": "./pancake", "Omega0": "1.0", "OmegaLambda": "0.0", "OmegaBaryon": "0.0",
            "TimeBegin": String(Self.start), "TimeMax": String(Self.end), "OutputListOn": "0",
            "TimeOfFirstSnapshot": String(Self.end), "TimeBetSnapshot": "2.0", "MaxSizeTimestep": "0.02",
            "SofteningComovingClass0": "0.05", "SofteningMaxPhysClass0": "0.05", "FOF": "0", "POWERSPEC_ON_OUTPUT": "0",
        ])
        let run = try SimulationRuns.run("pancake", ranks: 2, parameters: parameters, links: ["pancake.hdf5": ics])
        let (header, block) = try SimulationRuns.read(run.snapshot(0))
        #expect(abs(header.time - Self.end) < 1e-9)
        let spacing = Self.box / Double(Self.n)
        var worst = 0.0
        for (index, id) in block.ids.enumerated() {
            let lattice = Int(id - 1)
            let q = SIMD3(Double(lattice / (Self.n * Self.n)), Double((lattice / Self.n) % Self.n), Double(lattice % Self.n)) * spacing
            let expected = SIMD3(q.x + Self.displacement(q.x, Self.end), q.y, q.z)
            var d = SIMD3(block.positions[3 * index], block.positions[3 * index + 1], block.positions[3 * index + 2]) - expected
            d -= Self.box * (d / Self.box).rounded(.toNearestOrEven)
            worst = max(worst, pointwiseMax(d, -d).max())
        }
        print("pancake: largest deviation from the Zel'dovich solution \(worst / Self.box) of the box")
        #expect(worst / Self.box < 1e-3)
    }
}
