import Analysis
import ArgumentParser
import Cosmology
import Foundation
import Parallel
import Parameters
import Simulation
import Snapshots

/// GADGET-4's RestartFlag 3 as a command: friends-of-friends groups of a snapshot.
struct FoFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fof",
        abstract: "Find friends-of-friends groups in a snapshot and write GADGET-4's fof_tab_NNN.hdf5.",
        discussion: """
            The catalogue goes beside the snapshot (fof_tab_NNN.hdf5 for snapshot_NNN) unless --output says \
            otherwise. Its GroupOffsetType indexes a snapshot in group order: GADGET-4's own snapshots \
            written with FOF are, and --ordered-snapshot writes such a copy of any snapshot.
            """)

    @Argument(help: "Snapshot (GADGET-4 naming).")
    var snapshot: String

    @Option(help: "Linking length in units of the mean interparticle spacing.")
    var linkingLength: Double = 0.2

    @Option(help: "Fewest particles in a group.")
    var minimumLength: Int = 32

    @Option(help: "Catalogue file (default: beside the snapshot).")
    var output: String?

    @Option(help: "Also write the snapshot in group order to this file.")
    var orderedSnapshot: String?

    func validate() throws {
        guard linkingLength > 0 && linkingLength < 1 else { throw ValidationError("--linking-length must lie in (0, 1)") }
        guard minimumLength >= 2 else { throw ValidationError("--minimum-length must be at least 2") }
    }

    func run() throws {
        try withMPI { world in
            let paths = try SnapshotPaths.input(snapshot, numFiles: HDF5Snapshot.numFiles)
            let (header, block) = try HDF5Snapshot.read(paths: paths, communicator: world)
            let coordinates = IntegerCoordinates(boxSize: header.boxSize)
            var particles = ParticleSet(block, coordinates: coordinates, scaleFactor: header.time)
            let (domain, keys) = particles.redistribute(topNodeFactor: 3, communicator: world)
            let background = header.omega0.map { Background(omegaMatter: $0, omegaLambda: header.omegaLambda ?? 1 - $0) }
            let writer = OutputWriter(
                directory: (paths[0] as NSString).deletingLastPathComponent, snapshotBase: "snapshot", filesPerSnapshot: 1,
                units: UnitSystem.gadget, coordinates: coordinates, particleMass: header.particleMass, idBits: header.idBits,
                doublePrecision: false, parameters: header.parameters, config: header.config, background: background,
                fof: (linkingLength, minimumLength), spectrumMesh: nil, communicator: world)
            let groups = FriendsOfFriends.find(
                particles: particles, keys: keys, domain: domain, particleMass: header.particleMass,
                totalParticles: Int(header.totalParticles), linkingParameter: linkingLength, minimumLength: minimumLength,
                coordinates: coordinates, communicator: world)
            let target = output ?? Self.defaultOutput(for: paths[0])
            try world.collectively {
                guard world.isRoot else { return }
                try writer.catalogue(groups).write(to: target, time: header.time, redshift: header.redshift,
                                                   boxSize: header.boxSize, parameters: header.parameters, config: header.config)
            }
            say(world, "wrote \(groups.groups.count) groups (\(groups.groups.reduce(0) { $0 + $1.length }) particles) to \(target)")
            if let orderedSnapshot {
                let ordered = GroupOrder.arrange(particles, fof: groups, communicator: world)
                var h = writer.header(total: Int(header.totalParticles), scaleFactor: header.time)
                h.codeVersion = header.codeVersion
                h.codeDate = header.codeDate
                try HDF5Snapshot.write(writer.block(ordered, scaleFactor: header.time), header: h, paths: [orderedSnapshot],
                                       units: UnitSystem.gadget, communicator: world)
                say(world, "wrote the snapshot in group order to \(orderedSnapshot)")
            }
        }
    }

    /// `dir/fof_tab_NNN.hdf5` beside `dir/..._NNN.hdf5` (or outside `snapdir_NNN/`).
    static func defaultOutput(for firstFile: String) -> String {
        let (directory, number) = SnapshotPaths.origin(of: firstFile)
        return number.map { GroupCatalogue.path(directory: directory, number: $0) } ?? firstFile + ".fof_tab.hdf5"
    }
}
