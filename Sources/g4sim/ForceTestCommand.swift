import ArgumentParser
import Foundation
import Parallel
import Parameters
import Simulation
import Snapshots

/// GADGET-4's FORCETEST as a command: TreePM accelerations of a snapshot's
/// particles against exact Ewald summation for a sample of them.
struct ForceTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forcetest",
        abstract: "Measure TreePM force errors against direct Ewald summation.",
        discussion: "Uses the accuracy settings (ErrTolForceAcc, PMGRID, ASMTH, RCUT, softening) of the parameter file; prints percentiles of |a_TreePM − a_Ewald| / |a_Ewald|.")

    @Argument(help: "Parameter file with the force settings.")
    var parameterFile: String

    @Argument(help: "Snapshot whose particles are tested (GADGET-4 naming).")
    var snapshot: String

    @Option(help: "Particles compared with Ewald summation (0: none).")
    var sample: Int = 2000

    @Option(help: "Also write every particle's TreePM acceleration, by ID, to this file (to compare runs on different rank counts).")
    var accelerations: String?

    @Option(help: "Opening criterion: relative (after a geometric first pass, as at the start of a run) or geometric.")
    var criterion: String = "relative"

    func run() throws {
        let parameters = try ParameterFile.load(path: parameterFile)
        try withMPI { world in
            let setup = try RunSetup(parameters: parameters)
            let (header, block) = try HDF5Snapshot.read(paths: try SnapshotPaths.input(snapshot, numFiles: HDF5Snapshot.numFiles),
                                                        communicator: world)
            let coordinates = IntegerCoordinates(boxSize: header.boxSize)
            var particles = ParticleSet(block, coordinates: coordinates, scaleFactor: header.time)
            let total = Int(header.totalParticles)
            let mesh = setup.meshSize(totalParticles: total)
            let gravity = GravitySolver(coordinates: coordinates, gravity: setup.gravitationalConstant,
                                        particleMass: header.particleMass, meshSize: mesh, asmth: parameters.real("ASMTH"),
                                        rcut: parameters.real("RCUT"), communicator: world)
            let (domain, keys) = particles.redistribute(topNodeFactor: parameters.real("TopNodeFactor"), communicator: world)
            let a = header.time
            let h = 2.8 * min(parameters.real("SofteningComovingClass0"), parameters.real("SofteningMaxPhysClass0") / a)
            let all = Array(0..<particles.count)
            let start = MPIRuntime.wallTime()
            var interactions = gravity.computeAccelerations(&particles, keys: keys, targets: all, domain: domain,
                                                            softeningRadius: h, criterion: .geometric(theta: parameters.real("ErrTolTheta")))
            if criterion == "relative" {
                interactions = gravity.computeAccelerations(&particles, keys: keys, targets: all, domain: domain, softeningRadius: h,
                                                            criterion: .relative(accuracy: parameters.real("ErrTolForceAcc"),
                                                                                 thetaMax: parameters.real("ErrTolThetaMax")))
            }
            let treeTime = MPIRuntime.wallTime() - start
            if let accelerations {
                let ids = world.allgatherv(particles.id)
                let values = world.allgatherv(particles.acceleration)
                try world.collectively {
                    guard world.isRoot else { return }
                    let lines = ids.indices.sorted { ids[$0] < ids[$1] }.map { i in
                        "\(ids[i]) \(values[i].x) \(values[i].y) \(values[i].z)"
                    }
                    try (lines.joined(separator: "\n") + "\n").write(toFile: accelerations, atomically: true, encoding: .utf8)
                }
            }
            guard sample > 0 else { return }
            // A sample spread evenly over the IDs, wherever the particles live.
            let stride = max(1, total / sample)
            let chosen = all.filter { particles.id[$0] % UInt64(stride) == 0 }
            let everyone = world.allgatherv(particles.position)
            let offset = world.exclusiveScan(particles.count)
            let ewald = EwaldSummation(sources: everyone, coordinates: coordinates, gravity: setup.gravitationalConstant,
                                       particleMass: header.particleMass, softeningRadius: h)
            var projection = 0.0
            let errors = chosen.map { i -> Double in
                let exact = ewald.acceleration(of: offset + i)
                let d = particles.acceleration[i] - exact
                projection += (particles.acceleration[i] * exact).sum() / (exact * exact).sum()
                return ((d * d).sum() / (exact * exact).sum()).squareRoot()
            }
            let gathered = world.allgatherv(errors).sorted()
            // A systematic bias (forces too strong or weak on average) shows in the mean projection.
            let bias = world.allreduce(projection, .sum) / Double(max(gathered.count, 1)) - 1
            let totalInteractions = world.allreduce(interactions, .sum)
            if world.isRoot && !gathered.isEmpty {
                func percentile(_ q: Double) -> Double { gathered[min(gathered.count - 1, Int(q * Double(gathered.count - 1)))] }
                emit("forcetest: \(gathered.count) particles at a = \(a), criterion \(criterion), PMGRID \(mesh), ErrTolForceAcc \(parameters.real("ErrTolForceAcc"))")
                emit(String(format: "forcetest: relative error median %.3e  90%% %.3e  99%% %.3e  max %.3e",
                             percentile(0.5), percentile(0.9), percentile(0.99), gathered.last!))
                emit(String(format: "forcetest: mean (a · a_Ewald) / |a_Ewald|² − 1 = %+.2e (systematic bias)", bias))
                emit(String(format: "forcetest: %.1f interactions per particle, TreePM %.2f s for %d particles",
                             Double(totalInteractions) / Double(total), treeTime, total))
                let t = gravity.timings
                emit(String(format: "forcetest: last computation on rank 0: mesh %.3f s, ghosts %.3f s, tree build %.3f s, walk %.3f s",
                             t.mesh, t.ghosts, t.treeBuild, t.treeWalk))
            }
        }
    }
}
