import Foundation
import Parallel

/// GADGET's original binary format (ICFormat 1), which many initial-condition
/// generators still write: Fortran-style records (a 4-byte length before and
/// after each block) holding a 256-byte header, then positions, velocities,
/// IDs and, for types without a MassTable entry, masses. Either byte order,
/// single or double precision, 32- or 64-bit IDs, one file or `name.K`.
public enum GadgetFormat1 {
    struct FileHeader {
        var counts: [Int]  // six particle types in this file
        var massTable: [Double]
        var time, redshift, boxSize, omega0, omegaLambda, hubbleParam: Double
        var totals: [UInt64]
        var numFiles: Int
    }

    /// A little reader over a file's bytes that knows its byte order.
    struct Cursor {
        let data: Data
        let swapped: Bool

        func int32(_ offset: Int) -> Int32 {
            let raw = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
            return Int32(bitPattern: swapped ? raw.byteSwapped : raw)
        }
        func uint32(_ offset: Int) -> UInt32 { UInt32(bitPattern: int32(offset)) }
        func uint64(_ offset: Int) -> UInt64 {
            let raw = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
            return swapped ? raw.byteSwapped : raw
        }
        func double(_ offset: Int) -> Double { Double(bitPattern: uint64(offset)) }
        func float(_ offset: Int) -> Float { Float(bitPattern: uint32(offset)) }
    }

    /// The file names of a format-1 snapshot given as `name` (one file) or `name.0`... .
    public static func paths(_ given: String) throws -> [String] {
        let fm = FileManager.default
        let base = given.hasSuffix(".0") ? String(given.dropLast(2)) : given
        if fm.fileExists(atPath: base) && !given.hasSuffix(".0") { return [base] }
        guard fm.fileExists(atPath: base + ".0") else {
            throw SnapshotFormatError("no GADGET format-1 file at \(given) (nor \(base).0)")
        }
        let first = try readHeader(base + ".0").header
        let paths = (0..<first.numFiles).map { "\(base).\($0)" }
        if let missing = paths.first(where: { !fm.fileExists(atPath: $0) }) {
            throw SnapshotFormatError("\(base).0 says \(first.numFiles) files but \(missing) is missing")
        }
        return paths
    }

    static func readHeader(_ path: String) throws -> (header: FileHeader, swapped: Bool) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw SnapshotFormatError("cannot open \(path)") }
        defer { try? handle.close() }
        let data = try handle.read(upToCount: 264) ?? Data()
        guard data.count == 264 else { throw SnapshotFormatError("\(path) is too short for a GADGET format-1 header") }
        let native = Cursor(data: data, swapped: false)
        let swapped: Bool
        switch native.int32(0) {
        case 256: swapped = false
        case Int32(256).byteSwapped: swapped = true
        default: throw SnapshotFormatError("\(path) is not GADGET format 1 (first record is not the 256-byte header)")
        }
        let c = Cursor(data: data, swapped: swapped)
        let h = 4  // skip the record marker
        let header = FileHeader(
            counts: (0..<6).map { Int(c.int32(h + 4 * $0)) },
            massTable: (0..<6).map { c.double(h + 24 + 8 * $0) },
            time: c.double(h + 72), redshift: c.double(h + 80),
            boxSize: c.double(h + 128), omega0: c.double(h + 136), omegaLambda: c.double(h + 144), hubbleParam: c.double(h + 152),
            totals: (0..<6).map { UInt64(c.uint32(h + 96 + 4 * $0)) + (UInt64(c.uint32(h + 168 + 4 * $0)) << 32) },
            numFiles: max(1, Int(c.int32(h + 124))))
        return (header, swapped)
    }

    /// Reads the files; rank r receives an equal contiguous share in file order.
    /// Every rank reads its own byte ranges directly.
    public static func read(paths: [String], communicator: Communicator) throws -> (SnapshotHeader, ParticleBlock) {
        let headers = try communicator.collectively { try paths.map { try readHeader($0) } }
        let first = headers[0].header
        for (path, (h, _)) in zip(paths, headers) {
            for type in 0..<6 where type != 1 && h.counts[type] != 0 {
                throw SnapshotFormatError("\(path): has \(h.counts[type]) particles of type \(type); g4sim runs dark matter (type 1) only")
            }
        }
        let perFile = headers.map { $0.header.counts[1] }
        let total = perFile.reduce(0, +)
        guard UInt64(total) == first.totals[1] else {
            throw SnapshotFormatError("\(paths[0]): header total \(first.totals[1]) differs from the \(total) particles in the files")
        }
        let share = SnapshotPaths.evenShare(total: total, rank: communicator.rank, size: communicator.size)
        var block = ParticleBlock()
        var idBits = 32
        var masses: [Double] = []
        var fileStart = 0
        try communicator.collectively {
            for (index, path) in paths.enumerated() {
                let n = perFile[index]
                defer { fileStart += n }
                let lo = max(fileStart, share.lowerBound) - fileStart, hi = min(fileStart + n, share.upperBound) - fileStart
                let (h, swapped) = headers[index]
                let part = try readFile(path, header: h, swapped: swapped, rows: hi > lo ? lo..<hi : 0..<0)
                block.positions += part.positions
                block.velocities += part.velocities
                block.ids += part.ids
                idBits = part.idBits
                masses += part.masses
            }
        }
        var mass = first.massTable[1]
        if mass == 0 {
            let lo = communicator.allreduce(masses.min() ?? .infinity, .min)
            let hi = communicator.allreduce(masses.max() ?? -.infinity, .max)
            guard lo == hi, lo > 0 else {
                throw SnapshotFormatError("\(paths[0]): particle masses differ (\(lo) to \(hi)); g4sim needs equal dark-matter masses")
            }
            mass = lo
        }
        let header = SnapshotHeader(
            boxSize: first.boxSize, time: first.time, redshift: first.redshift, particleMass: mass,
            totalParticles: UInt64(total), numFiles: paths.count, idBits: communicator.allreduce(idBits, .max),
            codeVersion: "GADGET format 1", codeDate: "unknown",
            omega0: first.omega0, omegaLambda: first.omegaLambda, hubbleParam: first.hubbleParam)
        return (header, block)
    }

    /// Reads rows `rows` of type-1 particles from one file, finding each
    /// block's element size from its record length.
    private static func readFile(_ path: String, header: FileHeader, swapped: Bool, rows: Range<Int>)
        throws -> (positions: [Double], velocities: [Double], ids: [UInt64], masses: [Double], idBits: Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw SnapshotFormatError("cannot open \(path)") }
        defer { try? handle.close() }
        let inFile = header.counts.reduce(0, +)
        let before = header.counts[0]  // type-0 particles precede type 1 in every block
        var offset = 264  // header record
        func recordLength(at position: Int, what: String) throws -> Int {
            try handle.seek(toOffset: UInt64(position))
            guard let d = try handle.read(upToCount: 4), d.count == 4 else {
                throw SnapshotFormatError("\(path): ends before the \(what) block")
            }
            return Int(Cursor(data: d, swapped: swapped).uint32(0))
        }
        func readBlock(_ what: String, components: Int, allowed: [Int]) throws -> (values: Data, size: Int) {
            let length = try recordLength(at: offset, what: what)
            let size = inFile == 0 ? allowed[0] : length / (inFile * components)
            guard inFile == 0 || (allowed.contains(size) && size * inFile * components == length) else {
                throw SnapshotFormatError("\(path): \(what) block of \(length) bytes does not fit \(inFile) particles")
            }
            try handle.seek(toOffset: UInt64(offset + 4 + (before + rows.lowerBound) * components * size))
            let values = try handle.read(upToCount: rows.count * components * size) ?? Data()
            guard values.count == rows.count * components * size else { throw SnapshotFormatError("\(path): \(what) block is cut short") }
            offset += length + 8
            return (values, size)
        }
        func reals(_ block: (values: Data, size: Int)) -> [Double] {
            let c = Cursor(data: block.values, swapped: swapped)
            let n = block.values.count / block.size
            return block.size == 4 ? (0..<n).map { Double(c.float(4 * $0)) } : (0..<n).map { c.double(8 * $0) }
        }
        let positions = reals(try readBlock("position", components: 3, allowed: [4, 8]))
        let velocities = reals(try readBlock("velocity", components: 3, allowed: [4, 8]))
        let idBlock = try readBlock("ID", components: 1, allowed: [4, 8])
        let c = Cursor(data: idBlock.values, swapped: swapped)
        let ids = idBlock.size == 4 ? (0..<rows.count).map { UInt64(c.uint32(4 * $0)) } : (0..<rows.count).map { c.uint64(8 * $0) }
        var masses: [Double] = []
        if header.massTable[1] == 0 && header.counts[1] > 0 {
            // The mass block lists only types whose MassTable entry is 0; type 0 may precede.
            let withMass = (0..<6).filter { header.massTable[$0] == 0 }.reduce(0) { $0 + header.counts[$1] }
            let massBefore = header.massTable[0] == 0 ? header.counts[0] : 0
            let length = try recordLength(at: offset, what: "mass")
            let size = length / max(withMass, 1)
            try handle.seek(toOffset: UInt64(offset + 4 + (massBefore + rows.lowerBound) * size))
            let data = try handle.read(upToCount: rows.count * size) ?? Data()
            masses = reals((data, size))
        }
        return (positions, velocities, ids, masses, idBlock.size * 8)
    }
}
