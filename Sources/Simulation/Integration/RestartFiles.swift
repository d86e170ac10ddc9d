import Foundation
import Parallel

/// Restart files: one per rank, in `OutputDir/restartfiles/`, holding the
/// integrator's state and the run's counters, so a run cut by a time limit
/// or a signal continues exactly where it stopped.
///
/// Each file is written under a temporary name, synced to disk and renamed;
/// the previous set is kept as `.bak` until the new set is complete. A set
/// is only used if every file is intact (checksum), written at the same
/// step, for the same parameters, and complete; otherwise the backup set is
/// tried. Files from another number of ranks are read and re-decomposed.
public enum RestartFiles {
    static let magic: UInt64 = 0x4734_5245_5354_4152  // "G4RESTAR"
    static let version: UInt32 = 1

    /// What the driver of the run needs besides the integrator's state.
    public struct RunCounters: Sendable, Equatable, BitwiseCopyable {
        /// Outputs already written (the next snapshot number).
        public var outputsWritten: Int64
        public var particleMass: Double
        /// Width of ParticleIDs in the snapshots (32 or 64).
        public var idBits: Int64
        public init(outputsWritten: Int64, particleMass: Double, idBits: Int64) {
            self.outputsWritten = outputsWritten
            self.particleMass = particleMass
            self.idBits = idBits
        }
    }

    /// What was read: the state for this rank and whether the domain can be kept.
    public struct Loaded: Sendable {
        public var state: IntegratorState
        public var counters: RunCounters
        public var sameRankCount: Bool
        public var usedBackup: Bool
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    static func path(_ directory: String, rank: Int) -> String { "\(directory)/restart.\(rank)" }

    /// Writes this rank's file of a new set. Collective.
    public static func write(_ state: IntegratorState, counters: RunCounters, parameterDigest: UInt64,
                             directory: String, communicator: Communicator) throws {
        try communicator.collectively {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var out = BinaryWriter()
            out.append(magic); out.append(version)
            out.append(parameterDigest)
            out.append(Int64(communicator.rank)); out.append(Int64(communicator.size))
            out.append(state.tick); out.append(Int64(state.steps)); out.append(Int64(state.domainDecompositions))
            out.append(state.relativeCriterionReady ? Int64(1) : 0)
            out.append(counters)
            out.appendArray(state.domain.leaves)
            out.appendArray(state.domain.rankStart)
            out.appendArray((0..<state.particles.count).map(state.particles.record))
            out.append(out.checksum)
            let final = path(directory, rank: communicator.rank)
            let temporary = final + ".tmp"
            try out.data.write(to: URL(fileURLWithPath: temporary))
            try sync(temporary)
        }
        // Only when every rank has its new file on disk do the names change.
        try communicator.collectively {
            let final = path(directory, rank: communicator.rank)
            if FileManager.default.fileExists(atPath: final) {
                guard rename(final, final + ".bak") == 0 else { throw Failure("cannot keep \(final) as backup: \(errnoText())") }
            }
            guard rename(final + ".tmp", final) == 0 else { throw Failure("cannot rename \(final).tmp: \(errnoText())") }
            try sync(directory)
        }
    }

    /// Reads the newest complete set (or the backup set). Collective.
    public static func read(directory: String, parameterDigest: UInt64, communicator: Communicator) throws -> Loaded {
        var problems: [String] = []
        for suffix in ["", ".bak"] {
            do {
                var loaded = try readSet(directory: directory, suffix: suffix, parameterDigest: parameterDigest, communicator: communicator)
                loaded.usedBackup = !suffix.isEmpty
                return loaded
            } catch {
                // Failures found on one rank arrive as CollectiveError; keep every reason.
                problems.append((suffix.isEmpty ? "restart files: " : "backup restart files: ") + String(describing: error))
            }
        }
        throw Failure(problems.joined(separator: "; "))
    }

    private static func readSet(directory: String, suffix: String, parameterDigest: UInt64,
                                communicator: Communicator) throws -> Loaded {
        // Every rank checks the header of file 0; the set's size comes from it.
        let headers: [Header] = try communicator.collectively {
            let first = try Header(parse: try contents(path(directory, rank: 0) + suffix), path: path(directory, rank: 0) + suffix)
            return try (0..<Int(first.ranks)).map { try Header(parse: try contents(path(directory, rank: $0) + suffix), path: path(directory, rank: $0) + suffix) }
        }
        let first = headers[0]
        for (i, h) in headers.enumerated() {
            if h.digest != parameterDigest {
                throw Failure("\(path(directory, rank: i))\(suffix) was written for a different parameter file (the physics parameters differ)")
            }
            if h.tick != first.tick || h.steps != first.steps || h.rank != Int64(i) || h.ranks != first.ranks {
                throw Failure("\(path(directory, rank: i))\(suffix) belongs to another set (step \(h.steps), not \(first.steps))")
            }
        }
        let fileRanks = Int(first.ranks)
        let same = fileRanks == communicator.size
        // This rank's files: its own, or with another rank count every size-th one.
        let mine = same ? [communicator.rank] : Array(stride(from: communicator.rank, to: fileRanks, by: communicator.size))
        var particles = ParticleSet()
        var domain = Domain(leaves: [], rankStart: [])
        var counters = RunCounters(outputsWritten: 0, particleMass: 0, idBits: 64)
        try communicator.collectively {
            for f in mine {
                var input = BinaryReader(data: try contents(path(directory, rank: f) + suffix), path: path(directory, rank: f) + suffix)
                _ = try Header(reading: &input)
                counters = try input.read(RunCounters.self)
                domain = Domain(leaves: try input.readArray(TopLeaf.self), rankStart: try input.readArray(UInt64.self))
                for r in try input.readArray(ParticleRecord.self) { particles.append(r) }
                let expected = input.checksumSoFar
                guard try input.read(UInt64.self) == expected else { throw Failure("\(input.path) is corrupted (checksum mismatch)") }
            }
        }
        // Ranks without a file still need the counters and, for the record, the domain.
        counters = communicator.broadcast(counters, root: 0)
        let state = IntegratorState(tick: first.tick, steps: Int(first.steps), domainDecompositions: Int(first.decompositions),
                                    relativeCriterionReady: first.relative != 0, domain: domain, particles: particles)
        return Loaded(state: state, counters: counters, sameRankCount: same, usedBackup: false)
    }

    struct Header {
        var digest: UInt64, rank: Int64, ranks: Int64, tick: Int64, steps: Int64, decompositions: Int64, relative: Int64

        init(parse data: Data, path: String) throws {
            var input = BinaryReader(data: data, path: path)
            try self.init(reading: &input)
        }

        init(reading input: inout BinaryReader) throws {
            guard try input.read(UInt64.self) == RestartFiles.magic else { throw Failure("\(input.path) is not a g4sim restart file") }
            guard try input.read(UInt32.self) == RestartFiles.version else { throw Failure("\(input.path) has an unknown format version") }
            digest = try input.read(UInt64.self)
            rank = try input.read(Int64.self); ranks = try input.read(Int64.self)
            tick = try input.read(Int64.self); steps = try input.read(Int64.self)
            decompositions = try input.read(Int64.self); relative = try input.read(Int64.self)
        }
    }

    static func contents(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure("\(path) is missing or unreadable") }
        return data
    }

    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure("cannot open \(path) to sync: \(errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure("cannot sync \(path): \(errnoText())") }
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }

/// Plain little-endian binary records with a running FNV-1a checksum.
struct BinaryWriter {
    private(set) var data = Data()
    private(set) var checksum: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func append<T: BitwiseCopyable>(_ value: T) {
        withUnsafeBytes(of: value) { add($0) }
    }

    mutating func appendArray<T: BitwiseCopyable>(_ values: [T]) {
        append(Int64(values.count))
        values.withUnsafeBytes { add($0) }
    }

    private mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for b in bytes { checksum = (checksum ^ UInt64(b)) &* 0x100_0000_01b3 }
        data.append(contentsOf: bytes)
    }
}

struct BinaryReader {
    let data: Data
    let path: String
    private var offset = 0
    private(set) var checksumSoFar: UInt64 = 0xcbf2_9ce4_8422_2325

    init(data: Data, path: String) {
        self.data = data
        self.path = path
    }

    mutating func read<T: BitwiseCopyable>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= data.count else { throw RestartFiles.Failure("\(path) is truncated") }
        let value = data.withUnsafeBytes { raw in raw.loadUnaligned(fromByteOffset: offset, as: T.self) }
        consume(size)
        return value
    }

    mutating func readArray<T: BitwiseCopyable>(_: T.Type) throws -> [T] {
        let count = try read(Int64.self)
        let size = MemoryLayout<T>.stride * Int(count)
        guard count >= 0, offset + size <= data.count else { throw RestartFiles.Failure("\(path) is truncated") }
        let values = [T](unsafeUninitializedCapacity: Int(count)) { buffer, n in
            data.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + size)]))
            }
            n = Int(count)
        }
        consume(size)
        return values
    }

    private mutating func consume(_ size: Int) {
        data.withUnsafeBytes { raw in
            for b in raw[offset..<(offset + size)] { checksumSoFar = (checksumSoFar ^ UInt64(b)) &* 0x100_0000_01b3 }
        }
        offset += size
    }
}
