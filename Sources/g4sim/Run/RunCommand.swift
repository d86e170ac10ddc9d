import ArgumentParser
import Cosmology
import Foundation
import InitialConditions
import Parallel
import Parameters
import RunContract
import Simulation
import Snapshots

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a simulation from a GADGET-4 parameter file.",
        discussion: """
            As GADGET-4: mpirun -np N g4sim run param.txt [RestartFlag]. Paths in the file are relative to the \
            working directory. RestartFlag 1 (or --restart) continues from OutputDir/restartfiles, on any number \
            of ranks.

            Exit status: 0 finished; 1 failed (the message says why); \(RunOutcome.resumeExitCode) stopped early \
            with restart files written (time limit, SIGUSR1 or SIGTERM): run again with --restart.
            """)

    @Argument(help: "The parameter file.")
    var parameterFile: String

    @Argument(help: "GADGET-4's RestartFlag: 0 start from the initial conditions, 1 continue from restart files.")
    var restartFlag: Int = 0

    @Flag(help: "Continue from the restart files (same as RestartFlag 1).")
    var restart = false

    func validate() throws {
        guard restartFlag == 0 || restartFlag == 1 else {
            throw ValidationError("RestartFlag \(restartFlag) is not a run; use g4sim fof (3), g4sim powerspec (4) or g4sim ics (6)")
        }
    }

    func run() throws {
        // First thing: a scheduler's stop request (Slurm's --signal can come
        // early on a short job) must find its handler even while initial
        // conditions are being made; it then takes effect at the first step.
        SignalWatch.install()
        let parameters: ParameterSet
        do {
            parameters = try ParameterFile.load(path: parameterFile)
        } catch let error as ParameterFileError {
            printError(error.description)
            throw ExitCode(1)
        }
        let outcome = try withMPI { world -> RunOutcome in
            let run = try SimulationRun(setup: try RunSetup(parameters: parameters), resume: restart || restartFlag == 1,
                                        communicator: world)
            return try run.execute()
        }
        if outcome == .interrupted { throw ExitCode(RunOutcome.resumeExitCode) }
    }
}

/// How a run ended.
enum RunOutcome: Sendable {
    case finished
    /// Stopped early with restart files written.
    case interrupted

    /// "Resume me": schedulers requeue, g4sync resubmits with --restart.
    static let resumeExitCode = SolverExit.resumeMe
}

/// One simulation from initial conditions (or restart files) to TimeMax,
/// writing outputs, restart files and progress as it goes.
final class SimulationRun {
    let setup: RunSetup
    let communicator: Communicator
    let coordinates: IntegerCoordinates
    let particleMass: Double
    let integrator: Integrator
    let outputs: OutputWriter
    let progress: ProgressReporter
    private var outputsWritten = 0
    private let startTime = MPIRuntime.wallTime()
    private var lastRestart = MPIRuntime.wallTime()
    private var ioTime = 0.0
    var restartDirectory: String { setup.outputDirectory + "/" + RunLayout.restartDirectory }

    init(setup: RunSetup, resume: Bool, communicator: Communicator) throws {
        self.setup = setup
        self.communicator = communicator
        let p = setup.parameters
        coordinates = IntegerCoordinates(boxSize: setup.boxSize)
        let timeline = Timeline(begin: p.real("TimeBegin"), end: p.real("TimeMax"))
        var idBits = 64
        let total: Int
        let mesh: Int
        let gravity: GravitySolver
        if resume {
            let loaded: RestartFiles.Loaded
            do {
                loaded = try RestartFiles.read(directory: setup.outputDirectory + "/" + RunLayout.restartDirectory,
                                               parameterDigest: p.physicsDigest(), communicator: communicator)
            } catch {
                throw RunError("cannot resume: \(error)")
            }
            total = communicator.allreduce(loaded.state.particles.count, .sum)
            particleMass = loaded.counters.particleMass
            idBits = Int(loaded.counters.idBits)
            mesh = setup.meshSize(totalParticles: total)
            gravity = try Self.gravity(setup, coordinates: coordinates, particleMass: particleMass, mesh: mesh, communicator: communicator)
            integrator = Integrator(restoring: loaded.state, keepDomain: loaded.sameRankCount, timeline: timeline,
                                    background: setup.background, gravity: gravity, settings: setup.integratorSettings,
                                    communicator: communicator)
            outputsWritten = Int(loaded.counters.outputsWritten)
            say(communicator, "g4sim: resumed at step \(loaded.state.steps), a = \(timeline.scaleFactor(loaded.state.tick))"
                + (loaded.usedBackup ? " from the backup restart files" : "")
                + (loaded.sameRankCount ? "" : " on a new number of ranks (re-decomposed)"))
        } else {
            let (header, block) = try InitialConditionsLoader.load(setup: setup, communicator: communicator)
            guard abs(header.boxSize / setup.boxSize - 1) < 1e-6 else {
                throw RunError("the initial conditions have BoxSize \(header.boxSize) but the parameter file says \(setup.boxSize)")
            }
            particleMass = header.particleMass
            idBits = p.flag("IDS_32BIT") ? 32 : header.idBits
            let particles = ParticleSet(block, coordinates: coordinates, scaleFactor: timeline.beginScaleFactor)
            total = Int(header.totalParticles)
            mesh = setup.meshSize(totalParticles: total)
            gravity = try Self.gravity(setup, coordinates: coordinates, particleMass: particleMass, mesh: mesh, communicator: communicator)
            integrator = Integrator(particles: particles, timeline: timeline, background: setup.background, gravity: gravity,
                                    settings: setup.integratorSettings, communicator: communicator)
        }
        outputs = OutputWriter(
            directory: setup.outputDirectory, snapshotBase: p.string("SnapshotFileBase"),
            filesPerSnapshot: p.integer("NumFilesPerSnapshot"), units: setup.units, coordinates: coordinates,
            particleMass: particleMass, idBits: idBits, doublePrecision: p.integer("DOUBLEPRECISION") == 1,
            parameters: setup.parameterAttributes, config: setup.configAttributes, background: setup.background,
            fof: p.flag("FOF") ? (p.real("FOF_LINKLENGTH"), p.integer("FOF_GROUP_MIN_LEN")) : nil,
            spectrumMesh: p.flag("POWERSPEC_ON_OUTPUT") ? mesh : nil, communicator: communicator)
        progress = ProgressReporter(directory: setup.outputDirectory, communicator: communicator)
        let hosts = Self.hostNames(communicator)
        if communicator.isRoot {
            emit("g4sim: \(communicator.size) ranks on \(hosts.count) host(s): \(hosts.joined(separator: ", "))")
            emit("g4sim: \(total) particles, box \(setup.boxSize), PMGRID \(mesh), split r_s \(gravity.split.splitScale), cut-off \(gravity.split.cutoff), \(communicator.size) ranks")
            emit("g4sim: outputs at a = " + setup.outputTimes.map { String($0) }.joined(separator: ", "))
        }
    }

    /// Every rank's host name, each once, in rank order (collective): where a
    /// scheduler put the ranks, in the run's own log.
    static func hostNames(_ communicator: Communicator) -> [String] {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let mine = Array(String(cString: buffer).utf8) + [0]
        var names: [String] = []
        for part in communicator.allgatherv(mine).split(separator: 0) {
            let name = String(decoding: part, as: UTF8.self)
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    static func gravity(_ setup: RunSetup, coordinates: IntegerCoordinates, particleMass: Double, mesh: Int,
                        communicator: Communicator) throws -> GravitySolver {
        let p = setup.parameters
        let split = ForceSplit(gravity: setup.gravitationalConstant, boxSize: setup.boxSize, meshSize: mesh,
                               asmth: p.real("ASMTH"), rcut: p.real("RCUT"))
        guard split.cutoff < setup.boxSize / 2 else {
            throw RunError("RCUT · ASMTH · BoxSize / PMGRID = \(split.cutoff) is not below half the box; raise PMGRID or lower ASMTH or RCUT")
        }
        return GravitySolver(coordinates: coordinates, gravity: setup.gravitationalConstant, particleMass: particleMass,
                             meshSize: mesh, asmth: p.real("ASMTH"), rcut: p.real("RCUT"), communicator: communicator)
    }

    func execute() throws -> RunOutcome {
        try communicator.collectively {
            guard communicator.isRoot else { return }
            do {
                try FileManager.default.createDirectory(atPath: setup.outputDirectory, withIntermediateDirectories: true)
            } catch {
                throw RunError("OutputDir \(setup.outputDirectory) cannot be created: \(error.localizedDescription)")
            }
            guard FileManager.default.isWritableFile(atPath: setup.outputDirectory) else {
                throw RunError("OutputDir \(setup.outputDirectory) is not writable")
            }
        }
        SignalWatch.install()
        let p = setup.parameters
        let timeLimit = 0.85 * p.real("TimeLimitCPU")  // GADGET-4 stops at 85 % of the limit
        let restartInterval = p.real("CpuTimeBetRestartFile")
        if integrator.steps == 0 && integrator.tick == 0 { integrator.start() }
        var pending = Array(setup.outputTimes.map { integrator.timeline.tick($0) }.dropFirst(outputsWritten))
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
            progress.step(integrator, elapsed: MPIRuntime.wallTime() - startTime)
            try checkMemory()
            // Safe point: all ranks agree on stopping or checkpointing.
            let elapsed = MPIRuntime.wallTime() - startTime
            let signalled = communicator.allreduce(SignalWatch.requested, .max)
            let overTime = communicator.allreduce(elapsed > timeLimit ? 1 : 0, .max)
            if signalled != 0 || overTime != 0 {
                try writeRestartFiles()
                let reason = signalled != 0 ? "signal \(SignalWatch.name(signalled))" : "85 % of TimeLimitCPU"
                say(communicator, "g4sim: stopped at step \(integrator.steps), a = \(integrator.scaleFactor) (\(reason)); restart files written, continue with --restart")
                progress.finish(integrator, elapsed: elapsed, state: "interrupted")
                return .interrupted
            }
            if restartInterval > 0 && communicator.allreduce(MPIRuntime.wallTime() - lastRestart > restartInterval ? 1 : 0, .max) != 0 {
                try writeRestartFiles()
            }
        }
        summary()
        progress.finish(integrator, elapsed: MPIRuntime.wallTime() - startTime, state: "finished")
        return .finished
    }

    /// GADGET-4 stops when a rank needs more than MaxMemSize MB; so does
    /// g4sim, saying which rank and what takes the memory.
    private func checkMemory() throws {
        let limit = Double(setup.parameters.integer("MaxMemSize"))
        let used = currentResidentMegabytes()
        try communicator.collectively {
            guard used > limit else { return }
            let parts = integrator.memoryUse().sorted { $0.megabytes > $1.megabytes }
                .map { String(format: "%@ %.1f MB", $0.name, $0.megabytes) }.joined(separator: ", ")
            throw RunError(String(format: "rank %d uses %.1f MB, more than MaxMemSize (%.0f MB), after step %d; largest: %@",
                                  communicator.rank, used, limit, integrator.steps, parts))
        }
    }

    private func writeRestartFiles() throws {
        let start = MPIRuntime.wallTime()
        try RestartFiles.write(integrator.state, counters: .init(outputsWritten: Int64(outputsWritten), particleMass: particleMass,
                                                                 idBits: Int64(outputs.idBits)),
                               parameterDigest: setup.parameters.physicsDigest(), directory: restartDirectory,
                               communicator: communicator)
        lastRestart = MPIRuntime.wallTime()
        ioTime += lastRestart - start
    }

    private func writeOutput() throws {
        let start = MPIRuntime.wallTime()
        let (particles, keys, domain) = integrator.outputState()
        try outputs.write(number: outputsWritten, scaleFactor: integrator.scaleFactor, particles: particles, keys: keys, domain: domain)
        progress.snapshotWritten(SnapshotPaths.output(directory: setup.outputDirectory, base: setup.parameters.string("SnapshotFileBase"),
                                                      number: outputsWritten, files: setup.parameters.integer("NumFilesPerSnapshot"))[0])
        outputsWritten += 1
        ioTime += MPIRuntime.wallTime() - start
    }

    private func summary() {
        let t = integrator.timings
        let wall = MPIRuntime.wallTime() - startTime
        let interactions = communicator.allreduce(integrator.totalInteractions, .sum)
        let evaluations = communicator.allreduce(integrator.forceEvaluations, .sum)
        let times = communicator.allreduce([t.domain, t.mesh, t.ghosts, t.treeBuild, t.treeWalk, ioTime], .max)
        let peakMegabytes = communicator.allreduce(peakResidentMegabytes(), .max)
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

/// Resident memory of this process now, in MB (from /proc/self/statm).
func currentResidentMegabytes() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
          let pages = text.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return peakResidentMegabytes() }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}

/// Largest resident set of this process so far, in MB.
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024  // kB on Linux
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
