import ArgumentParser
import Crypto
import Foundation
import OpenAPIRuntime

struct Results: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a job's result files, or download them all.",
        discussion: """
            --download fetches every file into DIR, several at once, each into NAME.part first and renamed only
            once its SHA-256 matches the server's. A download that stopped (killed, connection lost) resumes
            where its .part file ends, with an HTTP range; files already there with the right SHA-256 are
            not fetched again.
            """)

    @Argument(help: "The job id.") var id: String
    @Option(help: "Download every file into this folder.") var download: String?
    @Option(help: "Files fetched at once.") var parallel: Int = 4
    @Option(help: "At most this many bytes per second (each file).") var limitRate: Int?
    @Flag(help: "Print JSON (with --download: what was fetched per file).") var json = false

    func validate() throws {
        guard parallel >= 1 else { throw ValidationError("--parallel must be at least 1") }
        if let limitRate, limitRate < 1024 { throw ValidationError("--limit-rate must be at least 1024 bytes per second") }
    }

    func run() async throws {
        try await perform {
            let c = try Connection.load()
            let list = try await c.call("results") { try await c.client.listResults(path: .init(id: id)) }.ok.body.json
            guard let download else {
                if json { try printJSON(list); return }
                var rows = [["SIZE", "SHA-256", "NAME"]]
                for f in list.files { rows.append([String(f.size), f.sha256, f.name]) }
                say(table(rows))
                return
            }
            let folder = URL(fileURLWithPath: download, isDirectory: true)
            let fetcher = Fetcher(connection: c, job: id, folder: folder, limitRate: limitRate)
            var reports: [Fetcher.Report] = []
            try await withThrowingTaskGroup(of: Fetcher.Report.self) { group in
                var pending = list.files.makeIterator()
                for _ in 0..<parallel { if let f = pending.next() { group.addTask { try await fetcher.fetch(f) } } }
                while let report = try await group.next() {
                    reports.append(report)
                    if !json { say("\(report.status.padding(toLength: 8, withPad: " ", startingAt: 0)) \(report.name) (\(report.fetched) bytes fetched)") }
                    if let f = pending.next() { group.addTask { try await fetcher.fetch(f) } }
                }
            }
            if json {
                try printJSON(Fetcher.Summary(id: id, folder: folder.path, files: reports.sorted { $0.name < $1.name }))
            } else {
                say("\(reports.count) files in \(folder.path), each SHA-256 checked")
            }
        }
    }
}

/// Downloads one result file, resuming a `.part` file, checking the SHA-256.
struct Fetcher: Sendable {
    let connection: Connection
    let job: String
    let folder: URL
    let limitRate: Int?

    struct Report: Encodable, Sendable {
        var name: String
        var size: Int
        var sha256: String
        /// "fetched", "resumed" or "present" (already there, checked).
        var status: String
        var resumedFrom: Int
        var fetched: Int
        enum CodingKeys: String, CodingKey {
            case name, size, sha256, status, fetched
            case resumedFrom = "resumed_from"
        }
    }

    struct Summary: Encodable {
        var id: String
        var folder: String
        var files: [Report]
    }

    typealias File = Components.Schemas.ResultList.FilesPayloadPayload

    func fetch(_ file: File) async throws -> Report {
        let target = folder.appendingPathComponent(file.name)
        let part = URL(fileURLWithPath: target.path + ".part")
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        if Self.size(target) == file.size, try Self.sha256(target) == file.sha256 {
            return Report(name: file.name, size: file.size, sha256: file.sha256, status: "present", resumedFrom: 0, fetched: 0)
        }
        var offset = Self.size(part) ?? 0
        if offset > file.size { try? FileManager.default.removeItem(at: part); offset = 0 }
        let resumedFrom = offset
        var fetched = 0
        if offset < file.size {
            if offset == 0 { _ = FileManager.default.createFile(atPath: part.path, contents: nil) }
            guard let handle = FileHandle(forWritingAtPath: part.path) else { throw CLIError(.usage, "cannot write \(part.path)") }
            defer { try? handle.close() }
            try handle.seekToEnd()
            let output = try await connection.call("download \(file.name)") {
                try await connection.client.downloadResult(path: .init(id: job, name: file.name),
                                                           headers: .init(range: offset > 0 ? "bytes=\(offset)-" : nil))
            }
            let body: HTTPBody
            switch output {
            case .ok(let whole):
                // The whole file after all: start the part file again.
                try handle.truncate(atOffset: 0)
                offset = 0
                body = try whole.body.binary
            case .partialContent(let range): body = try range.body.binary
            default: throw CLIError(.server, "download \(file.name): unexpected answer")
            }
            let start = ContinuousClock.now
            for try await chunk in body {
                try handle.write(contentsOf: chunk)
                fetched += chunk.count
                if let limitRate {
                    // Stay under the rate: sleep until this many bytes are due.
                    let due = Duration.seconds(Double(fetched) / Double(limitRate))
                    let elapsed = ContinuousClock.now - start
                    if due > elapsed { try await Task.sleep(for: due - elapsed) }
                }
            }
            try handle.synchronize()
        }
        let digest = try Self.sha256(part)
        guard digest == file.sha256, Self.size(part) == file.size else {
            try? FileManager.default.removeItem(at: part)
            throw CLIError(.server, "\(file.name): SHA-256 \(digest) does not match the server's \(file.sha256); removed, run again")
        }
        try? FileManager.default.removeItem(at: target)
        try FileManager.default.moveItem(at: part, to: target)
        return Report(name: file.name, size: file.size, sha256: digest, status: resumedFrom > 0 ? "resumed" : "fetched",
                      resumedFrom: resumedFrom, fetched: fetched)
    }

    static func size(_ url: URL) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue
    }

    static func sha256(_ url: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw CLIError(.usage, "cannot read \(url.path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let data = try handle.read(upToCount: 1 << 20), !data.isEmpty { hasher.update(data: data) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
