import Analysis
import ArgumentParser
import Cosmology
import Foundation
import Parallel
import Parameters
import Simulation
import Snapshots

/// GADGET-4's RestartFlag 4 as a command: the power spectrum of a snapshot.
struct PowerSpecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "powerspec",
        abstract: "Measure a snapshot's matter power spectrum in GADGET-4's format.",
        discussion: "Writes powerspecs/powerspec_NNN.txt beside a snapshot named *_NNN, else SNAPSHOT.powerspec.txt, unless --output says otherwise.")

    @Argument(help: "Snapshot (GADGET-4 naming).")
    var snapshot: String

    @Option(help: "Mesh cells per side (default: PMGRID of --param, else twice the particle grid).")
    var mesh: Int?

    @Option(help: "Parameter file for PMGRID and the cosmology (optional).")
    var param: String?

    @Option(help: "Output file.")
    var output: String?

    func run() throws {
        let parameters = try param.map { try ParameterFile.load(path: $0) }
        try withMPI { world in
            let paths = try SnapshotPaths.input(snapshot, numFiles: HDF5Snapshot.numFiles)
            let (header, block) = try HDF5Snapshot.read(paths: paths, communicator: world)
            let coordinates = IntegerCoordinates(boxSize: header.boxSize)
            let positions = (0..<block.count).map { i in
                coordinates.integer(SIMD3(block.positions[3 * i], block.positions[3 * i + 1], block.positions[3 * i + 2]))
            }
            let meshSize = mesh ?? parameters?.optionalInteger("PMGRID")
                ?? 2 * Int(Double(header.totalParticles).squareRoot().squareRoot().squareRoot().rounded(.up))
            let spectrum = PowerSpectrum.measure(positions: positions, particleMass: header.particleMass, boxSize: header.boxSize,
                                                 meshSize: meshSize, communicator: world)
            let omega0 = parameters?.real("Omega0") ?? header.omega0
            let omegaLambda = parameters?.real("OmegaLambda") ?? header.omegaLambda
            var growth = 1.0
            if let omega0, let omegaLambda {
                let g = LinearGrowth(Background(omegaMatter: omega0, omegaLambda: omegaLambda))
                growth = g.growth(1) / g.growth(header.time)
            }
            let target = output ?? Self.defaultOutput(for: paths[0])
            if world.isRoot {
                let directory = (target as NSString).deletingLastPathComponent
                if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
                try spectrum.text(scaleFactor: header.time, growthToPresent: growth).write(toFile: target, atomically: true, encoding: .utf8)
                emit("wrote \(target) (mesh \(meshSize), \(spectrum.blocks.map(\.count)) bins)")
            }
        }
    }

    /// `dir/powerspecs/powerspec_NNN.txt` for a snapshot `dir/..._NNN.hdf5` (or in `snapdir_NNN/`).
    static func defaultOutput(for firstFile: String) -> String {
        let (directory, number) = SnapshotPaths.origin(of: firstFile)
        return number.map { SnapshotPaths.powerSpectrum(directory: directory, number: $0) } ?? firstFile + ".powerspec.txt"
    }
}
