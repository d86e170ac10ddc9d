import Crypto
import Foundation
import Hummingbird
import JobStore
import Jobs
import NIOCore
import NIOPosix
import RunContract
import Scheduling

/// SHA-256 of result files, remembered by (path, size, mtime): snapshots do
/// not change once written (g4sim renames them into place), so each is
/// hashed once.
final class ResultFiles: @unchecked Sendable {
    private let lock = NSLock()
    private var digests: [String: (Int, Double, String)] = [:]

    func sha256(path: String, size: Int, modified: Double) -> String? {
        if let (s, m, d) = lock.withLock({ digests[path] }), s == size, m == modified { return d }
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        let hex = APIToken.hex(hasher.finalize())
        lock.withLock { digests[path] = (size, modified, hex) }
        return hex
    }
}

extension SubmissionService {
    func directory(of job: Job) throws -> URL {
        guard let backend = registry.backend(for: job.backend) else {
            throw APIError(.notFound, field: "id", "the job's backend (\(job.backend.rawValue)) is not configured here")
        }
        return backend.directory(for: job)
    }

    // MARK: status

    func status(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        let progress = job.solverProgress  // as the sync loop last read it
        return json(.ok) { w in
            w.beginObject()
            w.field("id", job.id)
            w.field("status", job.state.status.rawValue)
            w.field("phase", job.state.rawValue)
            let percent = job.state == .completed ? 100 : max(job.progress, (progress?.fractionDone ?? 0) * 100)
            w.field("progress", (percent * 100).rounded() / 100)
            w.field("redshift", progress?.redshift)
            w.field("scale_factor", progress?.scaleFactor)
            w.field("step", progress?.step)
            w.field("eta_seconds", job.state.isTerminal ? nil : progress?.etaSeconds)
            w.field("elapsed_seconds", progress?.elapsedSeconds)
            w.field("particles_per_second", progress?.particlesPerSecond)
            w.field("last_snapshot", progress?.lastSnapshot)
            w.field("solver_state", progress?.state)
            w.field("progress_updated_at", progress?.updated)
            w.field("cancel_requested", job.cancelRequested)
            w.field("exit_code", job.exitCode)
            w.field("error_message", job.errorMessage)
            w.field("updated_at", Clock.iso8601(job.updatedAt))
            w.endObject()
        }
    }

    // MARK: results

    func listResults(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        let output = try directory(of: job).appendingPathComponent(RunLayout.outputDirectory, isDirectory: true)
        let results = self.results
        var files = try await offloaded { () -> [(String, Int, Double, String)] in
            var files: [(String, Int, Double, String)] = []
            let fm = FileManager.default
            guard let walker = fm.enumerator(atPath: output.path) else { return files }
            while let relative = walker.nextObject() as? String {
                if relative.hasPrefix(RunLayout.restartDirectory) { walker.skipDescendants(); continue }
                let name = (relative as NSString).lastPathComponent
                if name.hasPrefix(".") { continue }  // files being written
                let path = output.path + "/" + relative
                guard let attributes = try? fm.attributesOfItem(atPath: path),
                      attributes[.type] as? FileAttributeType == .typeRegular else { continue }
                let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                guard let digest = results.sha256(path: path, size: size, modified: modified) else { continue }
                files.append((relative, size, modified, digest))
            }
            return files
        }
        files.sort { $0.0 < $1.0 }
        return json(.ok) { w in
            w.beginObject()
            w.field("id", job.id)
            w.field("phase", job.state.rawValue)
            w.key("files")
            w.beginArray()
            for (name, size, modified, digest) in files {
                w.beginObject()
                w.field("name", name)
                w.field("size", size)
                w.field("sha256", digest)
                w.field("modified_at", Clock.iso8601(Int64(modified * 1e6)))
                w.field("url", "/api/v1/simulations/\(job.id)/results/\(name)")
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
    }

    /// Checks a result name from the URL: relative, no `.`/`..`/empty
    /// segments, no NUL or backslash, also after percent-decoding; then the
    /// resolved path (symlinks followed) must stay inside the output folder.
    static func resultPath(_ segments: [Substring], in output: URL) throws -> String {
        var parts: [String] = []
        for raw in segments {
            guard let decoded = String(raw).removingPercentEncoding else {
                throw APIError(.badRequest, field: "name", "is not a valid percent-encoded path")
            }
            for part in decoded.split(separator: "/", omittingEmptySubsequences: false) {
                guard !part.isEmpty, part != ".", part != "..", !part.contains("\0"), !part.contains("\\") else {
                    throw APIError(.badRequest, field: "name", "must be a file name from the results list (no '..', '.', empty or absolute parts)")
                }
                parts.append(String(part))
            }
        }
        guard !parts.isEmpty, parts.count <= 8 else { throw APIError(.badRequest, field: "name", "is missing or too deep") }
        if parts[0] == RunLayout.restartDirectory { throw APIError(.notFound, field: "name", "no such result file") }
        let base = output.resolvingSymlinksInPath().path
        let path = URL(fileURLWithPath: base + "/" + parts.joined(separator: "/")).resolvingSymlinksInPath().path
        guard path.hasPrefix(base + "/") else { throw APIError(.badRequest, field: "name", "points outside the job's results") }
        return path
    }

    func downloadResult(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        let output = try directory(of: job).appendingPathComponent(RunLayout.outputDirectory, isDirectory: true)
        let path = try Self.resultPath(context.parameters.getCatchAll(), in: output)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let size = (attributes[.size] as? NSNumber)?.intValue else {
            throw APIError(.notFound, field: "name", "no such result file")
        }
        // Files are downloads, text ones too: one type, as the OpenAPI document states it.
        var headers: HTTPFields = [.contentType: "application/octet-stream", .acceptRanges: "bytes"]
        let io = FileIO()
        // Clients generated from the OpenAPI document percent-encode header values (bytes%3D5-).
        if let rangeHeader = request.headers[.range].map({ $0.removingPercentEncoding ?? $0 }) {
            guard let range = Self.byteRange(rangeHeader, size: size) else {
                var e = APIError(.rangeNotSatisfiable, field: "Range", "must be one range 'bytes=a-b', 'bytes=a-' or 'bytes=-n' within the \(size) bytes")
                e.headers[.contentRange] = "bytes */\(size)"
                throw e
            }
            headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
            let body = try await io.loadFile(path: path, range: range, context: context)
            metrics.resultBytes.increment(by: Int64(range.count))
            return Response(status: .partialContent, headers: headers, body: body)
        }
        if size == 0 { return Response(status: .ok, headers: headers, body: .init()) }
        let body = try await io.loadFile(path: path, context: context)
        metrics.resultBytes.increment(by: Int64(size))
        return Response(status: .ok, headers: headers, body: body)
    }

    /// One HTTP byte range (RFC 9110 §14.1.2) resolved against `size`; nil if unsatisfiable or malformed.
    static func byteRange(_ header: String, size: Int) -> ClosedRange<Int>? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(","), let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        if first.isEmpty {
            guard let n = Int(last), n > 0 else { return nil }
            return max(0, size - n)...(size - 1)
        }
        guard let a = Int(first), a >= 0, a < size else { return nil }
        if last.isEmpty { return a...(size - 1) }
        guard let b = Int(last), b >= a else { return nil }
        return a...min(b, size - 1)
    }

    // MARK: logs

    /// Logs come from the store, where the sync loop copies them as the run
    /// writes them (so they are served even when the job's directory is on a
    /// cluster filesystem this process does not mount).
    func logs(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        let q = request.uri.queryParameters
        var tail = 100
        if let text = q.get("tail") {
            guard let n = Int(text), (0...100_000).contains(n) else {
                throw APIError(.badRequest, field: "tail", "must be an integer from 0 to 100000; got '\(text.prefix(40))'")
            }
            tail = n
        }
        guard let stream = LogStream(rawValue: q.get("stream") ?? "stdout") else {
            throw APIError(.badRequest, field: "stream", "must be stdout or stderr")
        }
        var follow = false
        if let text = q.get("follow") {
            guard let f = ["true": true, "1": true, "false": false, "0": false][text] else {
                throw APIError(.badRequest, field: "follow", "must be true or false")
            }
            follow = f
        }
        let (lines, end) = try await Self.tailLines(store: store, jobID: job.id, stream: stream, count: tail)
        if !follow {
            return json(.ok) { w in
                w.beginObject()
                w.field("id", job.id)
                w.field("stream", stream.rawValue)
                w.key("lines")
                w.beginArray()
                for line in lines { w.string(line) }
                w.endArray()
                w.endObject()
            }
        }
        // Server-Sent Events: the tail, then new lines as they are stored, until the job
        // ended (the sync loop stores a run's last bytes before it records the ending).
        let store = self.store
        let id = job.id
        let body = ResponseBody { writer in
            var event = ""
            for line in lines { event += "data: \(line)\n\n" }
            if !event.isEmpty { try await writer.write(ByteBuffer(string: event)) }
            var offset = end
            var pending: [UInt8] = []
            var idle = 0
            while true {
                let (chunk, next) = try await store.logBytes(jobID: id, stream: stream, from: offset, limit: 1 << 20)
                offset = next
                pending += chunk
                var out = ""
                while let newline = pending.firstIndex(of: 0x0A) {
                    out += "data: \(String(decoding: pending[..<newline], as: UTF8.self))\n\n"
                    pending.removeSubrange(...newline)
                }
                if !out.isEmpty { try await writer.write(ByteBuffer(string: out)); idle = 0 }
                if chunk.isEmpty {
                    idle += 1
                    if idle % 4 == 0 {
                        guard let current = try await store.job(id: id, owner: nil) else { break }
                        if current.state.isTerminal {
                            let (rest, _) = try await store.logBytes(jobID: id, stream: stream, from: offset, limit: 1)
                            if rest.isEmpty {
                                try await writer.write(ByteBuffer(string: "event: end\ndata: \(current.state.rawValue)\n\n"))
                                break
                            }
                            continue
                        }
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    }
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// The last `count` lines of a stored log and where the log ends.
    static func tailLines(store: any JobStorage, jobID: String, stream: LogStream, count: Int) async throws -> ([String], Int64) {
        let length = try await store.logLength(jobID: jobID, stream: stream)
        guard count > 0, length > 0 else { return ([], length) }
        var start = length
        var data: [UInt8] = []
        // Backwards in blocks until enough newlines (or 16 MiB).
        while start > 0 {
            let block = min(Int64(1 << 20), start)
            start -= block
            let (bytes, _) = try await store.logBytes(jobID: jobID, stream: stream, from: start, limit: Int(block))
            data = Array(bytes.prefix(Int(block))) + data
            if data.reduce(0, { $1 == 0x0A ? $0 + 1 : $0 }) > count || data.count > 16 << 20 { break }
        }
        var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if start > 0 && !lines.isEmpty { lines.removeFirst() }  // probably partial
        return (Array(lines.suffix(count)), length)
    }
}
