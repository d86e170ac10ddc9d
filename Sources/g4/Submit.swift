import ArgumentParser
import Foundation
import OpenAPIRuntime

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a GADGET-4 parameter file (or a job as JSON).",
        discussion: """
            A parameter file goes as it is; the server checks it as `g4sim params check` does. The files it
            names that exist beside it (InitCondFile with .hdf5 for ICFormat 3, OutputListFilename when
            OutputListOn is 1, PowerSpectrumFile for PowerSpectrumType 2) are uploaded first; --ics names other
            initial conditions. A file ending in .json is a job request as POST /api/v1/jobs takes it.
            """)

    @Argument(help: "param.txt, or job.json.") var file: String
    @Option(help: "The job's name (default: the file's name).") var name: String?
    @Option(help: "local, slurm, kubernetes or auto.") var backend: String?
    @Option(help: "MPI ranks.") var ranks: Int?
    @Option(help: "Nodes.") var nodes: Int?
    @Option(help: "Wall-clock limit: seconds, or H:MM:SS.") var time: String?
    @Option(help: "Initial conditions to upload (HDF5 or GADGET format 1).") var ics: String?
    @Flag(help: "Follow the job to its end (as g4 watch).") var follow = false
    @Flag(help: "Print the job as JSON.") var json = false

    func run() async throws {
        try await perform {
            let c = try Connection.load()
            let url = URL(fileURLWithPath: file)
            guard let data = FileManager.default.contents(atPath: url.path) else { throw CLIError(.usage, "cannot read \(file)") }
            var request: Components.Schemas.JobRequest
            if url.pathExtension == "json" {
                do { request = try JSONDecoder().decode(Components.Schemas.JobRequest.self, from: data) } catch {
                    throw CLIError(.usage, "\(file) is not a job request: \(error)")
                }
            } else {
                guard let text = String(data: data, encoding: .utf8) else { throw CLIError(.usage, "\(file) is not UTF-8 text") }
                request = Components.Schemas.JobRequest(name: url.lastPathComponent, parameterFile: text,
                                                        parameterFileName: Self.safeName(url.lastPathComponent))
                request.inputs = try await Self.uploadInputs(of: text, beside: url.deletingLastPathComponent(), skipICs: ics != nil, c)
            }
            if let ics {
                let upload = try await Uploads.send(URL(fileURLWithPath: ics), kind: .ics, c)
                var inputs = request.inputs ?? .init()
                inputs.initCondFile = upload.id
                request.inputs = inputs
            }
            if let name { request.name = name }
            if let backend {
                guard let kind = Components.Schemas.JobRequest.BackendPayload(rawValue: backend) else {
                    throw CLIError(.usage, "--backend must be local, slurm, kubernetes or auto")
                }
                request.backend = kind
            }
            if ranks != nil || nodes != nil || time != nil {
                var r = request.resources ?? .init()
                if let ranks { r.ranks = ranks }
                if let nodes { r.nodes = nodes }
                if let time { r.wallClockLimit = try Self.seconds(time) }
                request.resources = r
            }
            let job = try await c.call("submit") { try await c.client.createJob(body: .json(request)) }.created.body.json
            if json { try printJSON(job) } else {
                say("submitted job \(job.id) (\(job.name))")
                for r in job.rewrites ?? [] { say("  \(r.parameter): \(r.given ?? "(not given)") → \(r.used) (\(r.reason))") }
            }
            if follow { try await ProgressDisplay.follow(c, id: job.id, interval: 1) }
        }
    }

    static func safeName(_ name: String) -> String {
        let cleaned = String(name.map { $0.isLetter || $0.isNumber || "_.-".contains($0) ? $0 : "_" }.prefix(64))
        return cleaned.first == "." || cleaned.first == "-" || cleaned.isEmpty ? "param.txt" : cleaned
    }

    /// "3600", "1:00:00" or "90:00" → seconds.
    static func seconds(_ text: String) throws -> Int {
        let parts = text.split(separator: ":").map { Int($0) }
        guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            throw CLIError(.usage, "--time must be seconds or H:MM:SS, got \(text)")
        }
        return parts.reduce(0) { $0 * 60 + $1! }
    }

    /// The `Name value` pairs of a parameter file (as GADGET-4 reads them; enough to find its files).
    static func values(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let tokens = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard tokens.count >= 2, !tokens[0].hasPrefix("%"), !tokens[1].hasPrefix("%"), !tokens[1].hasPrefix(";") else { continue }
            values[String(tokens[0])] = String(tokens[1])
        }
        return values
    }

    /// Uploads the files the parameter file reads that exist beside it.
    static func uploadInputs(of text: String, beside folder: URL, skipICs: Bool, _ c: Connection) async throws -> Components.Schemas.Inputs? {
        let v = values(text)
        var inputs = Components.Schemas.Inputs()
        var any = false
        func local(_ path: String) -> URL { path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path) }
        let generates = (Int(v["NGENIC"] ?? "0") ?? 0) > 0 || v["NSample"] != nil
        if !generates && !skipICs, let ic = v["InitCondFile"] {
            let format = v["ICFormat"] ?? "3"
            let candidates = format == "3" ? [ic + ".hdf5", ic] : [ic]
            if let found = candidates.map(local).first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
                inputs.initCondFile = try await Uploads.send(found, kind: .ics, c).id
                any = true
            }
        }
        if v["OutputListOn"] == "1", let list = v["OutputListFilename"], FileManager.default.fileExists(atPath: local(list).path) {
            inputs.outputListFilename = try await Uploads.send(local(list), kind: .outputList, c).id
            any = true
        }
        if generates, v["PowerSpectrumType"] == "2", let table = v["PowerSpectrumFile"], FileManager.default.fileExists(atPath: local(table).path) {
            inputs.powerSpectrumFile = try await Uploads.send(local(table), kind: .powerSpectrum, c).id
            any = true
        }
        return any ? inputs : nil
    }
}

/// Uploads a file, streamed from disk in 1 MiB pieces.
enum Uploads {
    typealias Kind = Operations.CreateUpload.Input.Query.KindPayload

    static func send(_ file: URL, kind: Kind, _ c: Connection) async throws -> Components.Schemas.Upload {
        guard let handle = FileHandle(forReadingAtPath: file.path) else { throw CLIError(.usage, "cannot read \(file.path)") }
        let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.int64Value ?? 0
        let reader = FileReader(handle)
        // Read as the transport asks for more: never more than a piece in memory.
        let chunks = AsyncThrowingStream<ArraySlice<UInt8>, any Error>(unfolding: { try reader.next() })
        let body = HTTPBody(chunks, length: .known(size), iterationBehavior: .single)
        let upload = try await c.call("upload") {
            try await c.client.createUpload(query: .init(kind: kind, name: Submit.safeName(file.lastPathComponent)), body: .binary(body))
        }.created.body.json
        say("uploaded \(file.lastPathComponent) (\(upload.size) bytes, sha256 \(upload.sha256)) as \(upload.id)")
        return upload
    }
}

/// Pieces of an open file, one per call; nil at the end (and the file closed).
final class FileReader: @unchecked Sendable {
    private let handle: FileHandle
    init(_ handle: FileHandle) { self.handle = handle }

    func next() throws -> ArraySlice<UInt8>? {
        guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else {
            try? handle.close()
            return nil
        }
        return ArraySlice(data)
    }
}
