import ArgumentParser
import Cosmology
import Foundation
import InitialConditions
import Parallel
import Parameters
import Simulation
import Snapshots

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a simulation from a GADGET-4 parameter file.",
        discussion: "As GADGET-4: mpirun -np N g4sim run param.txt. Paths in the file are relative to the working directory.")

    @Argument(help: "The parameter file.")
    var parameterFile: String

    func run() throws {
        let parameters: ParameterSet
        do {
            parameters = try ParameterFile.load(path: parameterFile)
        } catch let error as ParameterFileError {
            printError(error.description)
            throw ExitCode(1)
        }
        try withMPI { world in
            let run = try SimulationRun(setup: try RunSetup(parameters: parameters), communicator: world)
            try run.execute()
        }
    }
}

/// One simulation from initial conditions to TimeMax, writing the outputs.
final class SimulationRun {
    let setup: RunSetup
    let communicator: Communicator
    let coordinates: IntegerCoordinates
    let particleMass: Double
    let idBits: Int
    let integrator: Integrator
    let outputs: OutputWriter
    private var snapshotNumber = 0
    private let startTime = MPIRuntime.wallTime()
    private var ioTime = 0.0

    init(setup: RunSetup, communicator: Communicator) throws {
        self.setup = setup
        self.communicator = communicator
        let p = setup.parameters
        coordinates = IntegerCoordinates(boxSize: setup.boxSize)
        let begin = p.real("TimeBegin")
        let (header, block) = try InitialConditionsLoader.load(setup: setup, communicator: communicator)
        guard abs(header.boxSize / setup.boxSize - 1) < 1e-6 else {
            throw RunError("the initial conditions have BoxSize \(header.boxSize) but the parameter file says \(setup.boxSize)")
        }
        particleMass = header.particleMass
        idBits = p.flag("IDS_32BIT") ? 32 : header.idBits
        // Canonical momentum p = a² dx/dt from GADGET's u = v/√a: p = a^(3/2) u.
        let momentumFactor = pow(begin, 1.5)
        var particles = ParticleSet()
        particles.reserve(block.count)
        for i in 0..<block.count {
            let x = SIMD3(block.positions[3 * i], block.positions[3 * i + 1], block.positions[3 * i + 2])
            let u = SIMD3(block.velocities[3 * i], block.velocities[3 * i + 1], block.velocities[3 * i + 2])
            particles.append(ParticleRecord(position: coordinates.integer(x), momentum: u * momentumFactor, id: block.ids[i]))
        }
        let total = Int(header.totalParticles)
        let mesh = setup.meshSize(totalParticles: total)
        let gravity = GravitySolver(coordinates: coordinates, gravity: setup.gravitationalConstant, particleMass: particleMass,
                                    meshSize: mesh, asmth: p.real("ASMTH"), rcut: p.real("RCUT"), communicator: communicator)
        integrator = Integrator(particles: particles, timeline: Timeline(begin: begin, end: p.real("TimeMax")),
                                background: setup.background, gravity: gravity, settings: setup.integratorSettings,
                                communicator: communicator)
        outputs = OutputWriter(
            directory: setup.outputDirectory, snapshotBase: p.string("SnapshotFileBase"),
            filesPerSnapshot: p.integer("NumFilesPerSnapshot"), units: setup.units, coordinates: coordinates,
            particleMass: particleMass, idBits: idBits, doublePrecision: p.integer("DOUBLEPRECISION") == 1,
            parameters: setup.parameterAttributes, config: setup.configAttributes, background: setup.background,
            fof: p.flag("FOF") ? (p.real("FOF_LINKLENGTH"), p.integer("FOF_GROUP_MIN_LEN")) : nil,
            spectrumMesh: p.flag("POWERSPEC_ON_OUTPUT") ? mesh : nil, communicator: communicator)
        if communicator.isRoot {
            emit("g4sim: \(total) particles, box \(setup.boxSize), PMGRID \(mesh), split r_s \(gravity.split.splitScale), cut-off \(gravity.split.cutoff), \(communicator.size) ranks")
            emit("g4sim: outputs at a = " + setup.outputTimes.map { String($0) }.joined(separator: ", "))
        }
    }

    func execute() throws {
        try FileManager.default.createDirectory(atPath: setup.outputDirectory, withIntermediateDirectories: true)
        integrator.start()
        var pending = setup.outputTimes.map { integrator.timeline.tick($0) }
        while true {
            // Outputs due before the next synchronisation point: drift there and write.
            let next = integrator.isFinished ? Timeline.ticks : integrator.nextSynchronization()
            while let first = pending.first, first <= next, !(first == next && next == Timeline.ticks && !integrator.isFinished) {
                if first > integrator.tick { integrator.drift(to: first) }
                try writeOutput()
                pending.removeFirst()
            }
            if integrator.isFinished { break }
            integrator.step()
            report()
        }
        summary()
    }

    private func report() {
        guard communicator.isRoot, integrator.steps % 50 == 0 || integrator.isFinished else { return }
        let a = integrator.scaleFactor
        let elapsed = MPIRuntime.wallTime() - startTime
        emit(String(format: "step %6d  a = %.6f  z = %8.4f  done %5.1f%%  %.1f s", integrator.steps, a, 1 / a - 1,
                     100 * Double(integrator.tick) / Double(Timeline.ticks), elapsed))
    }

    private func writeOutput() throws {
        let start = MPIRuntime.wallTime()
        let (particles, keys, domain) = integrator.outputState()
        try outputs.write(number: snapshotNumber, scaleFactor: integrator.scaleFactor, particles: particles, keys: keys, domain: domain)
        snapshotNumber += 1
        ioTime += MPIRuntime.wallTime() - start
    }

    private func summary() {
        let t = integrator.timings
        let wall = MPIRuntime.wallTime() - startTime
        let interactions = communicator.allreduce(integrator.totalInteractions, .sum)
        let evaluations = communicator.allreduce(integrator.forceEvaluations, .sum)
        let times = communicator.allreduce([t.domain, t.mesh, t.ghosts, t.treeBuild, t.treeWalk, ioTime], .max)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let peakMegabytes = communicator.allreduce(Double(usage.ru_maxrss) / 1024, .max)  // ru_maxrss is in kB on Linux
        if communicator.isRoot {
            emit(String(format: "g4sim: done in %.2f s, %d steps, %d domain decompositions, %.3e interactions",
                         wall, integrator.steps, integrator.domainDecompositions, Double(interactions)))
            emit(String(format: "g4sim: %.3e force evaluations, %.3e per second; peak memory %.1f MB per rank",
                         Double(evaluations), Double(evaluations) / wall, peakMegabytes))
            emit(String(format: "g4sim: time (max over ranks): domain %.2f s, PM %.2f s, ghosts %.2f s, tree build %.2f s, tree walk %.2f s, I/O %.2f s",
                         times[0], times[1], times[2], times[3], times[4], times[5]))
        }
    }
}

/// Reads the initial conditions named by the parameters, or makes them (NGENIC).
enum InitialConditionsLoader {
    static func load(setup: RunSetup, communicator: Communicator) throws -> (SnapshotHeader, ParticleBlock) {
        let p = setup.parameters
        if p.generatesInitialConditions { return try generate(setup: setup, communicator: communicator) }
        let file = p.string("InitCondFile")
        switch p.integer("ICFormat") {
        case 1: return try GadgetFormat1.read(paths: try GadgetFormat1.paths(file), communicator: communicator)
        default: return try HDF5Snapshot.read(paths: try SnapshotPaths.input(file, numFiles: HDF5Snapshot.numFiles),
                                              communicator: communicator)
        }
    }

    /// N-GenIC: the spectrum of the parameters, normalised to Sigma8, on a particle grid.
    static func generate(setup: RunSetup, communicator: Communicator) throws -> (SnapshotHeader, ParticleBlock) {
        let p = setup.parameters
        let np = p.integer("NSample")
        let shape: SpectrumShape
        switch p.integer("PowerSpectrumType") {
        case 1: shape = .eisensteinHuNoWiggle(omegaMatter: p.real("Omega0"), omegaBaryon: p.real("OmegaBaryon"), h: p.real("HubbleParam"))
        case 2:
            let table: SpectrumTable
            do { table = try SpectrumTable.load(path: p.string("PowerSpectrumFile")) } catch { throw RunError(String(describing: error)) }
            shape = .table(table, kUnitInHOverMpc: 3.085678e24 / p.real("InputSpectrum_UnitLength_in_cm"))
        case 3: shape = .eisensteinHu(omegaMatter: p.real("Omega0"), omegaBaryon: p.real("OmegaBaryon"), h: p.real("HubbleParam"))
        default: shape = .efstathiou(shapeGamma: p.real("ShapeGamma"))
        }
        var spectrum = LinearPowerSpectrum(shape: shape, primordialIndex: p.real("PrimordialIndex"), unitLengthInCm: p.real("UnitLength_in_cm"))
        let renormalize = p.integer("PowerSpectrumType") != 2 || p.integer("ReNormalizeInputSpectrum") == 1
        if renormalize { spectrum = spectrum.normalized(toSigma8: p.real("Sigma8")) }
        let spec = InitialConditionsSpec(
            particlesPerSide: np, gridSize: p.integer("GridSize"), seed: p.integer("Seed"), sphereMode: p.integer("SphereMode") == 1,
            boxSize: setup.boxSize, scaleFactor: p.real("TimeBegin"), spectrum: spectrum, scaleSpectrumWithGrowth: renormalize,
            secondOrder: p.flag("NGENIC_2LPT"), background: setup.background)
        let made: (positions: [SIMD3<Double>], velocities: [SIMD3<Double>], ids: [UInt64])
        do { made = try InitialConditionsGenerator.generate(spec, communicator: communicator) } catch {
            throw RunError(String(describing: error))
        }
        let total = np * np * np
        let rho = setup.background.criticalDensity(gravitationalConstant: setup.gravitationalConstant)
        let mass = p.real("Omega0") * rho * pow(setup.boxSize, 3) / Double(total)
        let block = ParticleBlock(positions: made.positions.flatMap { [$0.x, $0.y, $0.z] },
                                  velocities: made.velocities.flatMap { [$0.x, $0.y, $0.z] }, ids: made.ids)
        let header = SnapshotHeader(boxSize: setup.boxSize, time: p.real("TimeBegin"), particleMass: mass,
                                    totalParticles: UInt64(total), idBits: p.flag("IDS_32BIT") ? 32 : 64)
        if communicator.isRoot {
            let d = LinearGrowth(setup.background).normalizedGrowth(p.real("TimeBegin"))
            emit("g4sim: made \(total) particles (NGENIC, \(p.flag("NGENIC_2LPT") ? "2LPT" : "Zel'dovich"), grid \(spec.gridSize)), D(a)/D(1) = \(d)")
        }
        return (header, block)
    }
}
