import ArgumentParser
import Cosmology
import Foundation
import Parallel
import Snapshots

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Inspect and rewrite GADGET-4 snapshots.",
        subcommands: [Info.self, Convert.self, Check.self, Groups.self, Density.self])

    /// Reads initial conditions exactly as `g4sim run` does (same paths, same
    /// readers) and checks what a run needs of them, so that a service can
    /// refuse a broken upload before a job names it.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that g4sim can run from initial conditions; print their header as one JSON line.",
            discussion: "Reads every particle with the reader `g4sim run` uses for ICFormat 3 (HDF5) or 1 (GADGET format 1) and checks that positions and velocities are finite numbers. Exits with status 1 and the reason on standard error otherwise.")

        @Argument(help: "Initial conditions as InitCondFile names them (x for x.hdf5, or a format-1 file).")
        var file: String

        @Option(help: "3 (HDF5) or 1 (GADGET binary format 1), as ICFormat.")
        var format: Int = 3

        func validate() throws {
            guard format == 1 || format == 3 else { throw ValidationError("--format must be 1 or 3") }
        }

        func run() throws {
            try withMPI { world in
                let (header, block): (SnapshotHeader, ParticleBlock)
                if format == 1 {
                    (header, block) = try GadgetFormat1.read(paths: try GadgetFormat1.paths(file), communicator: world)
                } else {
                    (header, block) = try HDF5Snapshot.read(paths: try SnapshotPaths.input(file, numFiles: HDF5Snapshot.numFiles),
                                                            communicator: world)
                }
                guard header.totalParticles > 0 else { throw SnapshotFormatError("\(file): holds no particles") }
                guard header.boxSize > 0, header.boxSize.isFinite else { throw SnapshotFormatError("\(file): BoxSize \(header.boxSize) is not positive") }
                guard header.time > 0, header.time <= 1 else {
                    throw SnapshotFormatError("\(file): Time \(header.time) is not a scale factor in (0, 1]")
                }
                guard header.particleMass > 0, header.particleMass.isFinite else {
                    throw SnapshotFormatError("\(file): the particle mass \(header.particleMass) is not positive")
                }
                if let bad = block.positions.firstIndex(where: { !$0.isFinite }) {
                    throw SnapshotFormatError("\(file): particle \(block.ids[bad / 3]) has a position that is not a finite number")
                }
                if let bad = block.velocities.firstIndex(where: { !$0.isFinite }) {
                    throw SnapshotFormatError("\(file): particle \(block.ids[bad / 3]) has a velocity that is not a finite number")
                }
                say(world, "{\"particles\":\(header.totalParticles),\"box_size\":\(header.boxSize),\"time\":\(header.time),\"redshift\":\(header.redshift),\"particle_mass\":\(header.particleMass),\"files\":\(header.numFiles),\"id_bits\":\(header.idBits)}")
            }
        }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a snapshot's header, particle counts and dataset types.")

        @Argument(help: "Snapshot as GADGET-4 names it: x.hdf5, x (for x.hdf5 or x.0.hdf5 ...), or snapdir_NNN.")
        var snapshot: String

        func run() throws {
            try withMPI { world in
                let paths = try SnapshotPaths.input(snapshot, numFiles: HDF5Snapshot.numFiles)
                guard world.isRoot else { return }
                for path in paths {
                    let file = try HDF5File.open(path, communicator: .selfOnly)
                    defer { try? file.close() }
                    emit("file \(path)")
                    for group in ["Header", "Config", "Parameters"] where file.root.contains(group) {
                        emit("  /\(group)")
                        for attribute in try file.root.openGroup(group).attributes.readAll() {
                            emit("    \(attribute.name) = \(attribute.value)")
                        }
                    }
                    for group in file.root.memberNames() where group.hasPrefix("PartType") || group == "Group" {
                        let g = try file.root.openGroup(group)
                        for name in g.memberNames() {
                            let d = try g.openDataset(name)
                            emit("  /\(group)/\(name)  \(d.elementDescription)  \(d.shape)")
                        }
                    }
                }
            }
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rewrite a snapshot or IC file in GADGET-4's HDF5 layout, optionally split into several files.",
            discussion: "Reads GADGET-4 HDF5 (ICFormat 3) or GADGET format-1 binary files in parallel and writes them back with collective MPI-IO. With --files N > 1 the output is OUTPUT.0.hdf5 ... OUTPUT.(N-1).hdf5.")

        @Argument(help: "Input snapshot (GADGET-4 naming).")
        var input: String

        @Argument(help: "Output: a file name ending in .hdf5 for one file, or a base name for several.")
        var output: String

        @Option(help: "Number of output files.")
        var files: Int = 1

        @Option(help: "Input format: 3 (HDF5) or 1 (GADGET binary format 1).")
        var format: Int = 3

        @Flag(help: "Write positions and velocities in double precision.")
        var double = false

        func validate() throws {
            guard files >= 1 else { throw ValidationError("--files must be at least 1") }
            guard format == 1 || format == 3 else { throw ValidationError("--format must be 1 or 3") }
        }

        func run() throws {
            try withMPI { world in
                let (header, block): (SnapshotHeader, ParticleBlock)
                if format == 1 {
                    (header, block) = try GadgetFormat1.read(paths: try GadgetFormat1.paths(input), communicator: world)
                } else {
                    let paths = try SnapshotPaths.input(input, numFiles: HDF5Snapshot.numFiles)
                    (header, block) = try HDF5Snapshot.read(paths: paths, communicator: world)
                }
                var stem = output
                if stem.hasSuffix(".hdf5") { stem.removeLast(5) }
                let paths = files == 1 ? [stem + ".hdf5"] : (0..<files).map { "\(stem).\($0).hdf5" }
                try HDF5Snapshot.write(block, header: header, paths: paths, units: unitsOf(header),
                                       doublePrecision: double, communicator: world)
                say(world, "wrote \(header.totalParticles) particles to \(paths.joined(separator: ", "))")
            }
        }

        /// The unit system recorded in the input's /Parameters, or GADGET's usual one.
        func unitsOf(_ header: SnapshotHeader) -> UnitSystem {
            func value(_ name: String) -> Double? { header.parameters.first { $0.name == name }?.value.doubles?.first }
            return UnitSystem(lengthInCm: value("UnitLength_in_cm") ?? UnitSystem.gadget.lengthInCm,
                              massInG: value("UnitMass_in_g") ?? UnitSystem.gadget.massInG,
                              velocityInCmPerS: value("UnitVelocity_in_cm_per_s") ?? UnitSystem.gadget.velocityInCmPerS)
        }
    }
}
