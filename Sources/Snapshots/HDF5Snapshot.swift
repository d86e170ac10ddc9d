import Cosmology
import Foundation
import Parallel

/// GADGET-4 HDF5 snapshots (SnapFormat / ICFormat 3), read and written in
/// parallel: each rank transfers its own contiguous block of particles with
/// collective MPI-IO, and a rank with no particles still takes part.
public enum HDF5Snapshot {
    /// Attributes of `Coordinates` and `Velocities` that tell readers (yt,
    /// pynbody) how to convert to physical cgs units, exactly as GADGET-4 writes them.
    static func scalingAttributes(coordinates: Bool, units: UnitSystem) -> [Attribute] {
        [
            .scalar("a_scaling", coordinates ? 1.0 : 0.5),
            .scalar("h_scaling", coordinates ? -1.0 : 0.0),
            .scalar("length_scaling", coordinates ? 1.0 : 0.0),
            .scalar("mass_scaling", 0.0),
            .scalar("to_cgs", coordinates ? units.lengthInCm : units.velocityInCmPerS),
            .scalar("velocity_scaling", coordinates ? 0.0 : 1.0),
        ]
    }

    static func headerAttributes(_ header: SnapshotHeader, particlesInFile: UInt64) -> [Attribute] {
        [
            .scalar("BoxSize", header.boxSize),
            .string("Git_commit", header.codeVersion),
            .string("Git_date", header.codeDate),
            .array("MassTable", [0, header.particleMass]),
            .scalar("NumFilesPerSnapshot", Int32(header.numFiles)),
            .array("NumPart_ThisFile", [0, particlesInFile]),
            .array("NumPart_Total", [0, header.totalParticles]),
            .scalar("Redshift", header.redshift),
            .scalar("Time", header.time),
        ]
    }

    /// Writes `block` (this rank's particles) as a snapshot split over
    /// `paths` (GADGET-4 names; see `SnapshotPaths`). File k holds an equal,
    /// contiguous share of the particles in rank order. Collective.
    ///
    /// Files are written under temporary names and renamed only when all
    /// are complete, so a failure (a full disk) leaves no partial snapshot
    /// under a snapshot's name and every earlier output untouched.
    public static func write(_ block: ParticleBlock, header: SnapshotHeader, paths: [String], units: UnitSystem,
                             doublePrecision: Bool = false, communicator: Communicator) throws {
        let localCount = block.count
        let offset = communicator.exclusiveScan(localCount)
        let total = communicator.allreduce(localCount, .sum)
        precondition(UInt64(total) == header.totalParticles, "header says \(header.totalParticles) particles, ranks hold \(total)")
        var header = header
        header.numFiles = paths.count

        if communicator.isRoot {
            for directory in Set(paths.map { ($0 as NSString).deletingLastPathComponent }) where !directory.isEmpty {
                try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
        }
        communicator.barrier()

        var written: [String] = []
        do {
            for (fileIndex, path) in paths.enumerated() {
                let fileRange = SnapshotPaths.evenShare(total: total, rank: fileIndex, size: paths.count)
                written.append(try HDF5File.writeIncomplete(path, communicator: communicator) { file in
                    try writeFile(file, block, header: header, fileRange: fileRange, offset: offset, units: units,
                                  doublePrecision: doublePrecision)
                })
            }
        } catch {
            // Earlier files of the set are complete but useless alone.
            if communicator.isRoot { for t in written { unlink(t) } }
            throw error
        }
        try HDF5File.publish(written, communicator: communicator)
    }

    /// One file of a snapshot: the header, and this rank's rows of `fileRange`.
    private static func writeFile(_ file: HDF5File, _ block: ParticleBlock, header: SnapshotHeader, fileRange: Range<Int>,
                                  offset: Int, units: UnitSystem, doublePrecision: Bool) throws {
        // The part of this rank's particles [offset, offset + count) that falls in this file.
        let lo = max(fileRange.lowerBound, offset)
        let hi = max(lo, min(fileRange.upperBound, offset + block.count))
        let startRow = lo - fileRange.lowerBound
        let localRows = hi > lo ? (lo - offset)..<(hi - offset) : 0..<0

        try file.root.createGroup("Header").attributes.write(headerAttributes(header, particlesInFile: UInt64(fileRange.count)))
        try file.root.createGroup("Parameters").attributes.write(header.parameters)
        try file.root.createGroup("Config").attributes.write(header.config)
        let particles = try file.root.createGroup("PartType1")
        let n = fileRange.count
        let coordinates = doublePrecision
            ? try particles.createDataset("Coordinates", of: Double.self, shape: [n, 3])
            : try particles.createDataset("Coordinates", of: Float.self, shape: [n, 3])
        try coordinates.attributes.write(scalingAttributes(coordinates: true, units: units))
        try writeRows(coordinates, block.positions, rows: localRows, columns: 3, startRow: startRow, double: doublePrecision)
        let velocities = doublePrecision
            ? try particles.createDataset("Velocities", of: Double.self, shape: [n, 3])
            : try particles.createDataset("Velocities", of: Float.self, shape: [n, 3])
        try velocities.attributes.write(scalingAttributes(coordinates: false, units: units))
        try writeRows(velocities, block.velocities, rows: localRows, columns: 3, startRow: startRow, double: doublePrecision)
        let slice = Array(block.ids[localRows])
        if header.idBits == 32 {
            let ids = try particles.createDataset("ParticleIDs", of: UInt32.self, shape: [n])
            try ids.write(slice.map { UInt32(truncatingIfNeeded: $0) }, startRow: startRow)
        } else {
            let ids = try particles.createDataset("ParticleIDs", of: UInt64.self, shape: [n])
            try ids.write(slice, startRow: startRow)
        }
    }

    private static func writeRows(_ dataset: HDF5Dataset, _ values: [Double], rows: Range<Int>, columns: Int,
                                  startRow: Int, double: Bool) throws {
        let slice = values[(rows.lowerBound * columns)..<(rows.upperBound * columns)]
        if double {
            try dataset.write(Array(slice), startRow: startRow)
        } else {
            try dataset.write(slice.map { Float($0) }, startRow: startRow)
        }
    }

    /// Number of files of the snapshot whose first file is `path` (read by this rank alone).
    public static func numFiles(firstFile path: String) throws -> Int {
        let file = try HDF5File.open(path, communicator: .selfOnly)
        defer { try? file.close() }
        let header = try file.root.openGroup("Header").attributes
        guard let n = try header.read("NumFilesPerSnapshot").value.counts?.first, n >= 1 else {
            throw SnapshotFormatError("\(path): Header/NumFilesPerSnapshot is missing or not positive")
        }
        return Int(n)
    }

    /// Reads a snapshot split over `paths`; rank r receives an equal,
    /// contiguous share of the particles in file order. Collective.
    public static func read(paths: [String], communicator: Communicator) throws -> (SnapshotHeader, ParticleBlock) {
        precondition(!paths.isEmpty)
        // Header and per-file counts: every rank reads the small attributes itself.
        var header = try communicator.collectively { try readHeader(paths[0]) }
        let perFile = try communicator.collectively { () -> [Int] in
            try paths.enumerated().map { (index, path) in index == 0 ? header.totalParticlesInFirstFile : try particlesInFile(path) }
        }
        let total = perFile.reduce(0, +)
        guard UInt64(total) == header.header.totalParticles else {
            throw SnapshotFormatError("\(paths[0]): NumPart_Total says \(header.header.totalParticles) but the files hold \(total)")
        }
        let share = SnapshotPaths.evenShare(total: total, rank: communicator.rank, size: communicator.size)
        var block = ParticleBlock()
        block.positions.reserveCapacity(3 * share.count)
        block.velocities.reserveCapacity(3 * share.count)
        block.ids.reserveCapacity(share.count)
        var idBits = 64
        var fileStart = 0
        var masses: [Double] = []
        for (index, path) in paths.enumerated() {
            let fileRange = fileStart..<(fileStart + perFile[index])
            fileStart += perFile[index]
            let lo = max(fileRange.lowerBound, share.lowerBound), hi = min(fileRange.upperBound, share.upperBound)
            let rows = hi > lo ? (lo - fileRange.lowerBound)..<(hi - fileRange.lowerBound) : 0..<0
            try communicator.collectively {
                let file = try HDF5File.open(path, communicator: communicator)
                defer { try? file.close() }
                guard fileRange.count > 0 else { return }
                let group = try file.root.openGroup("PartType1")
                block.positions += try group.openDataset("Coordinates").read(Double.self, startRow: rows.lowerBound, rows: rows.count)
                block.velocities += try group.openDataset("Velocities").read(Double.self, startRow: rows.lowerBound, rows: rows.count)
                let idSet = try group.openDataset("ParticleIDs")
                idBits = idSet.elementInfo.size * 8
                block.ids += try idSet.read(UInt64.self, startRow: rows.lowerBound, rows: rows.count)
                if header.header.particleMass == 0 {
                    guard group.contains("Masses") else {
                        throw SnapshotFormatError("\(path): MassTable[1] is 0 and there is no PartType1/Masses")
                    }
                    masses += try group.openDataset("Masses").read(Double.self, startRow: rows.lowerBound, rows: rows.count)
                }
            }
        }
        header.header.idBits = communicator.allreduce(idBits, .min)
        if header.header.particleMass == 0 {
            // Variable masses: accepted only if they are in fact all equal.
            let lo = communicator.allreduce(masses.min() ?? .infinity, .min)
            let hi = communicator.allreduce(masses.max() ?? -.infinity, .max)
            guard lo == hi, lo > 0 else {
                throw SnapshotFormatError("\(paths[0]): particle masses differ (\(lo) to \(hi)); g4sim needs equal dark-matter masses")
            }
            header.header.particleMass = lo
        }
        return (header.header, block)
    }

    private struct FirstFile {
        var header: SnapshotHeader
        var totalParticlesInFirstFile: Int
    }

    private static func particlesInFile(_ path: String) throws -> Int {
        let file = try HDF5File.open(path, communicator: .selfOnly)
        defer { try? file.close() }
        let attributes = try file.root.openGroup("Header").attributes
        return try darkMatterCount(attributes.read("NumPart_ThisFile"), in: path, field: "NumPart_ThisFile")
    }

    /// The type-1 count of a NumPart array, refusing files with other particle types.
    private static func darkMatterCount(_ attribute: Attribute, in path: String, field: String) throws -> Int {
        guard let counts = attribute.value.counts, counts.count >= 2 else {
            throw SnapshotFormatError("\(path): Header/\(field) is not a list of particle counts")
        }
        for (type, n) in counts.enumerated() where type != 1 && n != 0 {
            throw SnapshotFormatError("\(path): has \(n) particles of type \(type); g4sim runs dark matter (type 1) only")
        }
        return Int(counts[1])
    }

    private static func readHeader(_ path: String) throws -> FirstFile {
        let file = try HDF5File.open(path, communicator: .selfOnly)
        defer { try? file.close() }
        let attributes = try file.root.openGroup("Header").attributes
        func number(_ name: String) throws -> Double {
            guard let v = try attributes.read(name).value.doubles?.first else {
                throw SnapshotFormatError("\(path): Header/\(name) is not a number")
            }
            return v
        }
        var total = UInt64(try darkMatterCount(attributes.read("NumPart_Total"), in: path, field: "NumPart_Total"))
        if attributes.contains("NumPart_Total_HighWord"), let high = try attributes.read("NumPart_Total_HighWord").value.counts, high.count > 1 {
            total += high[1] << 32  // GADGET-2/3 HDF5 files carry the upper 32 bits separately
        }
        guard let masses = try attributes.read("MassTable").value.doubles, masses.count >= 2 else {
            throw SnapshotFormatError("\(path): Header/MassTable is missing")
        }
        let numFiles = attributes.contains("NumFilesPerSnapshot") ? Int(try number("NumFilesPerSnapshot")) : 1
        let time = try number("Time")
        let redshift = attributes.contains("Redshift") ? try number("Redshift") : 1 / time - 1
        func text(_ name: String) -> String {
            if attributes.contains(name), case .string(let s)? = try? attributes.read(name).value { return s }
            return "unknown"
        }
        let parameters = file.root.contains("Parameters") ? try file.root.openGroup("Parameters").attributes.readAll() : []
        let config = file.root.contains("Config") ? try file.root.openGroup("Config").attributes.readAll() : []
        func parameter(_ name: String) -> Double? { parameters.first { $0.name == name }?.value.doubles?.first }
        let header = SnapshotHeader(
            boxSize: try number("BoxSize"), time: time, redshift: redshift, particleMass: masses[1],
            totalParticles: total, numFiles: numFiles, idBits: 64, codeVersion: text("Git_commit"),
            codeDate: text("Git_date"), omega0: parameter("Omega0"), omegaLambda: parameter("OmegaLambda"),
            hubbleParam: parameter("HubbleParam"), parameters: parameters, config: config)
        let inFirst = try darkMatterCount(attributes.read("NumPart_ThisFile"), in: path, field: "NumPart_ThisFile")
        return FirstFile(header: header, totalParticlesInFirstFile: inFirst)
    }
}
