import Cosmology
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import JobStore
import Jobs
import NIOCore
import Scheduling
#if canImport(Glibc)
import Glibc
#endif

/// Uploads: initial conditions and the tables a parameter file names.
///
/// The body is streamed to disk in 1 MiB writes (never held whole), hashed
/// with SHA-256 as it arrives, and refused with 413 once it passes the
/// configured limit (at once when Content-Length already says so). Before
/// it is recorded, initial conditions are read by `g4sim snapshot check`,
/// which uses the readers `g4sim run` uses (run as a child process, so that a
/// hostile file cannot take g4api down, and g4api needs no MPI); tables are
/// read by the same parsers as the solver's. A file that fails is deleted
/// and answered with 422 and the reader's message.
extension SubmissionService {
    static let maxTableBytes = 1 << 20

    func createUpload(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = context.principal!
        guard let directory = settings.uploadsDirectory else {
            throw APIError(.notFound, field: "(path)", "uploads are not enabled on this server (UPLOADS_DIR)")
        }
        let q = request.uri.queryParameters
        guard let kindText = q.get("kind"), let kind = InputKind(rawValue: kindText) else {
            throw APIError(.badRequest, field: "kind", "must be one of \(InputKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var format: InitialConditionsFormat?
        if let f = q.get("format") {
            guard kind == .initialConditions, let parsed = InitialConditionsFormat(rawValue: f) else {
                throw APIError(.badRequest, field: "format", "is for kind=ics only: hdf5 or gadget1")
            }
            format = parsed
        }
        let fileName = q.get("name") ?? kind.rawValue
        guard JobRequest.isSafeWord(fileName) else {
            throw APIError(.badRequest, field: "name", "must be a file name of letters, digits, _ - . (no paths), at most 64 characters")
        }
        let limit = kind == .initialConditions ? settings.maxUploadBytes : Int64(Self.maxTableBytes)
        if let length = request.headers[.contentLength].flatMap(Int64.init), length > limit {
            throw Self.tooLarge(limit)
        }

        let id = UUID().uuidString.lowercased()
        let folder = directory.appendingPathComponent(id, isDirectory: true)
        let incoming = folder.appendingPathComponent(".incoming")
        try await offloaded { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        let removeFolder = { @Sendable in try? FileManager.default.removeItem(at: folder) }
        let sink: UploadSink
        do { sink = try UploadSink(path: incoming.path) } catch {
            removeFolder()
            throw error
        }
        do {
            for try await chunk in request.body {
                if sink.size + Int64(chunk.readableBytes) > limit {
                    throw Self.tooLarge(limit)
                }
                try await sink.append(chunk)
            }
            try await sink.finish()
        } catch {
            try? await sink.discard()
            removeFolder()
            throw error
        }
        let (size, digest) = (sink.size, sink.digest)
        guard size > 0 else {
            removeFolder()
            throw APIError(.unprocessableContent, field: "(body)", "is empty; send the file's bytes as the request body")
        }

        // Check with the solver's readers; name the problem when they refuse.
        let path: String
        let summary: String
        do {
            switch kind {
            case .initialConditions:
                let sniffed = try await offloaded { Self.sniffFormat(incoming.path) }
                let f = format ?? sniffed
                format = f
                if f == .hdf5 && sniffed != .hdf5 {
                    throw APIError(.unprocessableContent, field: "(body)", "is not an HDF5 file (no HDF5 signature at its start); for GADGET format 1 use format=gadget1")
                }
                let stored = folder.appendingPathComponent(f == .hdf5 ? "ics.hdf5" : "ics").path
                try await offloaded { try FileManager.default.moveItem(atPath: incoming.path, toPath: stored) }
                let stem = f == .hdf5 ? String(stored.dropLast(5)) : stored
                summary = try await checkInitialConditions(stem, format: f)
                path = stored
            case .outputList:
                let text = try await offloaded { try String(contentsOf: incoming, encoding: .utf8) }
                let times = try OutputListText.times(text, file: fileName)
                var w = JSONWriter()
                w.beginObject(); w.key("times"); w.beginArray(); for t in times { w.double(t) }; w.endArray(); w.endObject()
                summary = w.text
                path = folder.appendingPathComponent("outputs.txt").path
                try await offloaded { try FileManager.default.moveItem(atPath: incoming.path, toPath: path) }
            case .powerSpectrum:
                path = folder.appendingPathComponent("powerspec.txt").path
                try await offloaded { try FileManager.default.moveItem(atPath: incoming.path, toPath: path) }
                let table: SpectrumTable
                do { table = try SpectrumTable.load(path: path) } catch {
                    throw APIError(.unprocessableContent, field: "(body)", "is not a spectrum table g4sim reads (lines of log10 k, log10 Δ²(k)): \(error)")
                }
                summary = "{\"rows\":\(table.log10K.count)}"
            }
        } catch let error as ValidationError {
            removeFolder()
            throw APIError(.unprocessableContent, field: "(body)", error.message)
        } catch {
            removeFolder()
            throw error
        }
        let upload = Upload(id: id, owner: principal.user, kind: kind, format: format, fileName: fileName, size: size,
                            sha256: digest, path: path, summaryJSON: summary)
        try await store.insertUpload(upload)
        return json(.created, headers: [.location: "/api/v1/uploads/\(id)"]) { w in upload.writeJSON(to: &w) }
    }

    static func tooLarge(_ limit: Int64) -> APIError {
        APIError(.contentTooLarge, field: "(body)", "the upload exceeds this server's limit of \(limit) bytes")
    }

    /// HDF5 files start with the 8-byte signature (at offset 0 for files HDF5 writes).
    static func sniffFormat(_ path: String) -> InitialConditionsFormat {
        guard let handle = FileHandle(forReadingAtPath: path) else { return .gadget1 }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 8)) ?? Data()
        return head == Data([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) ? .hdf5 : .gadget1
    }

    /// `g4sim snapshot check`: the header as JSON, or a 422 with the reader's reason.
    func checkInitialConditions(_ stem: String, format: InitialConditionsFormat) async throws -> String {
        guard let g4sim = settings.g4sim else {
            throw APIError(.serviceUnavailable, field: nil, "this server cannot check initial conditions (no g4sim configured)")
        }
        let result = try await offloaded {
            try ChildProcess.run([g4sim, "snapshot", "check", stem, "--format", String(format.icFormat)])
        }
        guard result.status == 0 else {
            var reason = result.error.trimmingCharacters(in: .whitespacesAndNewlines)
            if reason.hasPrefix("Error: ") { reason.removeFirst(7) }
            reason = reason.replacingOccurrences(of: stem, with: "the upload")
            throw APIError(.unprocessableContent, field: "(body)",
                           "g4sim cannot read these initial conditions (\(format == .hdf5 ? "HDF5, ICFormat 3" : "GADGET format 1, ICFormat 1")): \(reason.prefix(1000))")
        }
        guard let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
            throw APIError(.internalServerError, "g4sim snapshot check printed no summary")
        }
        return String(line)
    }

    func listUploads(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = context.principal!
        let uploads = try await store.uploads(owner: principal.isAdmin ? nil : principal.user, limit: 1000)
        return json(.ok) { w in
            w.beginObject(); w.key("uploads"); w.beginArray()
            for u in uploads { u.writeJSON(to: &w) }
            w.endArray(); w.endObject()
        }
    }

    func getUpload(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = context.principal!
        guard let id = context.parameters.get("id"), Self.isJobID(id),
              let upload = try await store.upload(id: id, owner: principal.isAdmin ? nil : principal.user) else {
            throw APIError.notFound("upload")
        }
        return json(.ok) { w in upload.writeJSON(to: &w) }
    }

    /// The uploads a submission's `inputs` names, if they are the submitter's.
    func resolveInputs(_ body: JSONValue, owner: String) async throws -> [String: InputFile] {
        guard case .object(let members)? = body["inputs"] else { return [:] }
        var out: [String: InputFile] = [:]
        for (parameter, value) in members {
            guard InputKind.forParameter(parameter) != nil, case .string(let id) = value, Self.isJobID(id),
                  let upload = try await store.upload(id: id, owner: owner) else { continue }
            var file = InputFile(id: upload.id, kind: upload.kind, format: upload.format, parameterValue: upload.path,
                                 sha256: upload.sha256)
            if upload.format == .hdf5, upload.path.hasSuffix(".hdf5") { file.parameterValue = String(upload.path.dropLast(5)) }
            if let summary = try? JSONParser.parse(Array(upload.summaryJSON.utf8)) {
                if case .number(let n)? = summary["particles"] { file.particles = Int(n) ?? Double(n).map { Int($0) } }
                if case .number(let b)? = summary["box_size"] { file.boxSize = Double(b) }
                if case .number(let t)? = summary["time"] { file.time = Double(t) }
            }
            if upload.kind == .outputList {
                file.text = try await offloaded { try? String(contentsOfFile: upload.path, encoding: .utf8) }
            }
            out[parameter] = file
        }
        return out
    }
}

/// Appends an upload to a file in 1 MiB writes on NIO's blocking pool,
/// hashing as it goes.
final class UploadSink: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var hasher = SHA256()
    private(set) var size: Int64 = 0
    private(set) var digest = ""
    private static let writeSize = 1 << 20

    init(path: String) throws {
        fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw APIError(.internalServerError, "cannot store the upload") }
        buffer.reserveCapacity(Self.writeSize)
    }

    func append(_ chunk: ByteBuffer) async throws {
        chunk.withUnsafeReadableBytes { bytes in
            hasher.update(bufferPointer: bytes)
            buffer.append(contentsOf: bytes)
        }
        size += Int64(chunk.readableBytes)
        if buffer.count >= Self.writeSize { try await flush() }
    }

    private func flush() async throws {
        let data = buffer
        buffer.removeAll(keepingCapacity: true)
        let fd = self.fd
        try await offloaded {
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw APIError(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), field: "(body)", "the server could not store the upload (\(String(cString: strerror(errno))))")
                    }
                    offset += n
                }
            }
        }
    }

    func finish() async throws {
        try await flush()
        let fd = self.fd
        try await offloaded {
            fsync(fd)
            _ = Glibc.close(fd)
        }
        digest = APIToken.hex(hasher.finalize())
    }

    /// Closes the file without syncing it (it is about to be deleted).
    func discard() async throws {
        let fd = self.fd
        try await offloaded { _ = Glibc.close(fd) }
    }
}

/// Runs a program to its end with no inherited descriptors, output in files
/// (a pipe inherited by MPI's singleton daemon would never reach its end).
enum ChildProcess {
    struct Result: Sendable {
        let status: Int32
        let output: String
        let error: String
    }

    static func run(_ arguments: [String]) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("g4api-child-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out").path, err = scratch.appendingPathComponent("err").path
        let script = #"o=$1; e=$2; shift 2; exec "$@" > "$o" 2> "$e""#
        // Not inside an MPI job's environment: g4sim starts as a singleton of its own.
        let environment = ProcessInfo.processInfo.environment.filter { key, _ in
            !(key.hasPrefix("OMPI_COMM") || key.hasPrefix("PMIX_") || key.hasPrefix("OMPI_MCA_orte") || key.hasPrefix("ORTE_"))
        }
        let pid = try ProcessControl.spawn(["/bin/sh", "-c", script, "g4child", out, err] + arguments, environment: environment)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: code, output: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                      error: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}
