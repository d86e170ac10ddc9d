import Analysis
import Cosmology
import Foundation
import Parallel
import Parameters
import Simulation
import Snapshots

/// What a run (or a post-processing command) writes for one output time:
/// the FoF catalogue (with the snapshot in group order), the snapshot, and
/// the power spectrum, under GADGET-4's names.
struct OutputWriter {
    let directory: String
    let snapshotBase: String
    let filesPerSnapshot: Int
    let units: UnitSystem
    let coordinates: IntegerCoordinates
    let particleMass: Double
    let idBits: Int
    let doublePrecision: Bool
    let parameters: [Attribute]
    let config: [Attribute]
    let background: Background?
    /// FoF settings (nil: no catalogue).
    let fof: (linking: Double, minimumLength: Int)?
    /// PM mesh for the power spectrum (nil: none).
    let spectrumMesh: Int?
    let communicator: Communicator

    /// Writes output `number` for particles at scale factor `a` (momenta
    /// synchronised, sorted by key, with their domain). Collective.
    func write(number: Int, scaleFactor a: Double, particles: ParticleSet, keys: [UInt64], domain: Domain) throws {
        let total = communicator.allreduce(particles.count, .sum)
        var ordered = particles
        if let fof {
            let groups = FriendsOfFriends.find(particles: particles, keys: keys, domain: domain, particleMass: particleMass,
                                               totalParticles: total, linkingParameter: fof.linking,
                                               minimumLength: fof.minimumLength, coordinates: coordinates,
                                               communicator: communicator)
            ordered = GroupOrder.arrange(particles, fof: groups, communicator: communicator)
            let path = GroupCatalogue.path(directory: directory, number: number)
            try communicator.collectively {
                guard communicator.isRoot else { return }
                try catalogue(groups).write(to: path, time: a, redshift: 1 / a - 1, boxSize: coordinates.boxSize,
                                            parameters: parameters, config: config)
            }
            say(communicator, "g4sim: \(groups.groups.count) FoF groups (≥ \(fof.minimumLength) particles) in \(path)")
        }
        let paths = SnapshotPaths.output(directory: directory, base: snapshotBase, number: number, files: filesPerSnapshot)
        try HDF5Snapshot.write(block(ordered, scaleFactor: a), header: header(total: total, scaleFactor: a), paths: paths,
                               units: units, doublePrecision: doublePrecision, communicator: communicator)
        say(communicator, "g4sim: wrote snapshot \(number) at a = \(a) to \(paths[0])")
        if let mesh = spectrumMesh {
            let spectrum = PowerSpectrum.measure(positions: particles.position, particleMass: particleMass,
                                                 boxSize: coordinates.boxSize, meshSize: mesh, communicator: communicator)
            try communicator.collectively {
                guard communicator.isRoot else { return }
                var growth = 1.0
                if let background {
                    let g = LinearGrowth(background)
                    growth = g.growth(1) / g.growth(a)
                }
                let path = SnapshotPaths.powerSpectrum(directory: directory, number: number)
                try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try writeAtomically(spectrum.text(scaleFactor: a, growthToPresent: growth), to: path)
            }
        }
    }

    func catalogue(_ fof: FriendsOfFriends) -> GroupCatalogue {
        GroupCatalogue(length: fof.groups.map { Int32($0.length) }, mass: fof.groups.map(\.mass),
                       position: fof.groups.map(\.position), velocity: fof.groups.map(\.velocity),
                       offset: GroupOrder.offsets(fof))
    }

    func header(total: Int, scaleFactor a: Double) -> SnapshotHeader {
        SnapshotHeader(boxSize: coordinates.boxSize, time: a, particleMass: particleMass, totalParticles: UInt64(total),
                       numFiles: filesPerSnapshot, idBits: idBits, omega0: background?.omegaMatter,
                       omegaLambda: background?.omegaLambda, parameters: parameters, config: config)
    }

    /// GADGET's file layout: positions in [0, L), velocities u = p / a^(3/2).
    func block(_ particles: ParticleSet, scaleFactor a: Double) -> ParticleBlock {
        var block = ParticleBlock()
        block.positions.reserveCapacity(3 * particles.count)
        block.velocities.reserveCapacity(3 * particles.count)
        let velocityFactor = pow(a, -1.5)
        for i in 0..<particles.count {
            let x = coordinates.real(particles.position[i])
            let u = particles.momentum[i] * velocityFactor
            block.positions += [x.x, x.y, x.z]
            block.velocities += [u.x, u.y, u.z]
        }
        block.ids = particles.id
        return block
    }
}

/// Writes a text file through a temporary name and a rename, so readers
/// never see half a file.
func writeAtomically(_ text: String, to path: String) throws {
    let temporary = path + ".tmp"
    try text.write(toFile: temporary, atomically: false, encoding: .utf8)
    _ = rename(temporary, path)
}

extension ParticleSet {
    /// Particles from a snapshot's data at scale factor a: integer positions
    /// and the canonical momentum p = a² dx/dt = a^(3/2) u from GADGET's u = v/√a.
    init(_ block: ParticleBlock, coordinates: IntegerCoordinates, scaleFactor a: Double) {
        self.init()
        reserve(block.count)
        let momentumFactor = pow(a, 1.5)
        for i in 0..<block.count {
            let x = SIMD3(block.positions[3 * i], block.positions[3 * i + 1], block.positions[3 * i + 2])
            let u = SIMD3(block.velocities[3 * i], block.velocities[3 * i + 1], block.velocities[3 * i + 2])
            append(ParticleRecord(position: coordinates.integer(x), momentum: u * momentumFactor, id: block.ids[i]))
        }
    }
}
