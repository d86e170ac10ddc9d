import AsyncHTTPClient
import Foundation
import Jobs
import ServiceTestSupport
import Testing

/// Resident memory of a process, in bytes (VmRSS of /proc/PID/status).
func residentBytes(_ pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kB = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return nil }
    return kB * 1024
}

@Suite(.serialized) struct UploadLimitTests {
    /// 2 GiB sent at a server whose limit is 1 GiB: 413, with Content-Length at once and,
    /// streamed without one, as soon as the limit is passed; g4api's resident memory stays
    /// within 100 MB of what it was idle, since the body goes to disk in 1 MiB writes.
    @Test func twoGiBOverAOneGiBLimitIs413WithFlatMemory() async throws {
        let dir = Products.scratch("upload-limit")
        let server = ServerProcess(directory: dir, environment: [
            "G4SIM": Products.g4sim, "UPLOADS_DIR": dir.appendingPathComponent("uploads").path, "UPLOAD_MAX_BYTES": String(1 << 30),
        ])
        let token = try server.token(user: "alice")
        try await server.start(client: HTTPClient.shared)
        defer { server.kill(SIGTERM) }
        let pid = try #require(server.service.process?.processIdentifier)
        // 2 GiB of zeros as a sparse file: nothing on disk, all of it on the wire.
        let big = dir.appendingPathComponent("two-gib.bin").path
        _ = FileManager.default.createFile(atPath: big, contents: nil)
        #expect(truncate(big, 2 << 30) == 0)
        // Idle, after it answered a few requests.
        for _ in 0..<5 { _ = try await server.request(HTTPClient.shared, .GET, "/api/v1/uploads", token: token) }
        let idle = try #require(residentBytes(pid))

        /// curl POSTs `file` (on its standard input when `piped`: no Content-Length, chunked).
        func upload(_ file: String, piped: Bool) async throws -> (code: String, sent: Int, body: String, peak: Int) {
            let out = dir.appendingPathComponent("curl-\(UUID().uuidString.prefix(6))")
            let script = piped
                ? #"exec curl -sS -o "$0.body" -w '%{http_code} %{size_upload}' -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/octet-stream' -T - "$2" < "$3" > "$0""#
                : #"exec curl -sS -o "$0.body" -w '%{http_code} %{size_upload}' -X POST -H "Authorization: Bearer $1" -H 'Content-Type: application/octet-stream' -T "$3" "$2" > "$0""#
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", script, out.path, token, "http://127.0.0.1:\(server.port)/api/v1/uploads?kind=ics", file]
            try p.run()
            var peak = idle
            // Sampled while the upload streams; the wait ends when curl does.
            try await Wait.until("curl to finish the upload", every: .milliseconds(20)) {
                if let rss = residentBytes(pid) { peak = max(peak, rss) }
                return !p.isRunning
            }
            let fields = ((try? String(contentsOf: out, encoding: .utf8)) ?? "").split(separator: " ")
            return (fields.first.map(String.init) ?? "", fields.count > 1 ? Int(Double(fields[1]) ?? 0) : 0,
                    (try? String(contentsOfFile: out.path + ".body", encoding: .utf8)) ?? "", peak)
        }
        let declared = try await upload(big, piped: false)
        #expect(declared.code == "413" && declared.body.contains("1073741824"), "\(declared)")
        let chunked = try await upload(big, piped: true)
        #expect(chunked.code == "413" && chunked.body.contains("1073741824"), "\(chunked)")
        #expect(chunked.sent > 1 << 30, "curl stopped after \(chunked.sent) bytes, before the limit was reached")
        #expect(chunked.peak - idle < 100_000_000, "resident memory grew by \(chunked.peak - idle) bytes (idle \(idle))")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("uploads").path)) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
        #expect(try await server.json(HTTPClient.shared, "/health", token: token)["status"] == .string("ok"))
    }
}
