import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Jobs
import RunContract
import Scheduling
import ServiceTestSupport
import SubmissionAPI
import Testing

/// A service on a fresh store with three users; no dispatcher, so jobs stay queued.
struct Fixture {
    let store: any JobStorage
    let backend: LocalBackend
    let service: SubmissionService
    let alice: String, bob: String, admin: String

    static func make(_ kind: StoreKind, cors: Set<String> = []) async throws -> Fixture {
        let store = try await kind.makeStore()
        let results = Products.scratch("api")
        let backend = LocalBackend(.init(resultsDirectory: results, g4sim: "/bin/false", slots: 2))
        var settings = SubmissionService.Settings()
        settings.corsOrigins = cors
        let service = SubmissionService(store: store, registry: BackendRegistry([backend]), settings: settings)
        var tokens: [String] = []
        for (user, admin) in [("alice", false), ("bob", false), ("root", true)] {
            let t = APIToken.generate()
            try await store.insertToken(hash: APIToken.hash(t), user: user, admin: admin)
            tokens.append(t)
        }
        return Fixture(store: store, backend: backend, service: service, alice: tokens[0], bob: tokens[1], admin: tokens[2])
    }

    func test<V: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> V) async throws -> V {
        let app = Application(router: service.buildRouter())
        let result = try await app.test(.router, body)
        try? await store.close()
        return result
    }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ uri: String, token: String?, body: String? = nil,
              headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        if let token { h[.authorization] = "Bearer \(token)" }
        if body != nil && h[.contentType] == nil { h[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: h, body: body.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    var json: JSONValue? { try? JSONParser.parse(Array(body.readableBytesView)) }
    var text: String { String(buffer: body) }
    var errorField: String? {
        if case .string(let f)? = json?["error"]?["field"] { return f }
        return nil
    }
}

func string(_ v: JSONValue?) -> String? { if case .string(let s)? = v { return s }; return nil }
func number(_ v: JSONValue?) -> Double? { if case .number(let s)? = v { return Double(s) }; return nil }

@Suite struct APITests {
    @Test(arguments: StoreKind.allCases)
    func submitReadAndOwnership(_ kind: StoreKind) async throws {
        let f = try await Fixture.make(kind)
        try await f.test { client in
            let created = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: """
                {"name": "seed job", "description": "from the seed docs", "num_particles": 32768, "box_size": 64,
                 "parameters": {"Omega0": 0.3, "OmegaLambda": 0.7}, "simulator_type": "gadget4"}
                """)
            #expect(created.status == .created)
            let id = try #require(string(created.json?["id"]))
            #expect(created.headers[.location] == "/api/v1/jobs/\(id)")
            #expect(string(created.json?["status"]) == "pending" && string(created.json?["phase"]) == "queued")
            #expect(number(created.json?["num_particles"]) == 32768 && number(created.json?["box_size"]) == 64)
            #expect(number(created.json?["parameters"]?["Omega0"]) == 0.3)
            let read = try await client.call(.get, "/api/v1/jobs/\(id)", token: f.alice)
            #expect(read.status == .ok && read.json == created.json)
            #expect(try await client.call(.get, "/api/v1/jobs/\(id)", token: f.bob).status == .notFound)
            #expect(try await client.call(.get, "/api/v1/jobs/\(id)", token: f.admin).status == .ok)
            #expect(try await client.call(.get, "/api/v1/jobs/\(id)", token: nil).status == .unauthorized)
            let bad = try await client.call(.get, "/api/v1/jobs/\(id)", token: "g4_nope")
            #expect(bad.status == .unauthorized && bad.errorField == "Authorization")
            #expect(try await client.call(.get, "/api/v1/jobs/not-a-uuid", token: f.alice).status == .notFound)
            // Minimal body: a runnable standard box.
            let minimal = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: #"{"name": "minimal"}"#)
            #expect(minimal.status == .created && number(minimal.json?["num_particles"]) == 2_097_152)
        }
    }

    static let badBodies: [(String, String)] = [
        ("", "(body)"), ("{", "(body)"), ("nonsense", "(body)"), (#"{"name": "x",}"#, "(body)"),
        ("{}", "name"), (#"{"name": null}"#, "name"), (#"{"name": ["x"]}"#, "name"),
        (#"{"name": "line\nbreak"}"#, "name"), (#"{"name": "a|b"}"#, "name"), (#"{"name": "`id`"}"#, "name"),
        (#"{"name": "x/../../y"}"#, "name"), (#"{"name": "x", "box_size": Infinity}"#, "box_size"),
        (#"{"name": "x", "box_size": NaN}"#, "box_size"), (#"{"name": "x", "box_size": -5}"#, "box_size"),
        (#"{"name": "x", "box_size": true}"#, "box_size"), (#"{"name": "x", "num_particles": 9223372036854775808}"#, "num_particles"),
        (#"{"name": "x", "num_particles": 99999999999999999999999999}"#, "num_particles"),
        (#"{"name": "x", "num_particles": "many"}"#, "num_particles"), (#"{"name": "x", "admin": true}"#, "admin"),
        (#"{"name": "x", "parameters": {"NotAParameter": 1}}"#, "parameters.NotAParameter"),
        (#"{"name": "x", "parameters": {"Hubble": -1}}"#, "parameters.Hubble"),
        (#"{"name": "x", "parameters": {"InitCondFile": "/etc/passwd"}}"#, "parameters.InitCondFile"),
        (#"{"name": "x", "parameters": []}"#, "parameters"), (#"{"name": "x", "resources": {"ranks": 64}}"#, "resources.ranks"),
        (#"{"name": "x", "backend": "slurm"}"#, "backend"),
    ]

    @Test(arguments: StoreKind.allCases)
    func badInputIsRefusedWithTheFieldAndNothingStored(_ kind: StoreKind) async throws {
        let f = try await Fixture.make(kind)
        try await f.test { client in
            for (body, field) in Self.badBodies {
                let r = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: body)
                #expect((400..<500).contains(Int(r.status.code)), "\(body) → \(r.status)")
                #expect(r.errorField == field, "\(body) → \(r.text)")
            }
            let huge = "{\"name\": \"x\", \"description\": \"" + String(repeating: "a", count: 1 << 20) + "\"}"
            let tooLarge = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: huge)
            #expect(tooLarge.status == .contentTooLarge && tooLarge.errorField == "(body)")
            let wrongType = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: #"{"name":"x"}"#,
                                                  headers: [.contentType: "application/xml"])
            #expect(wrongType.status == .unsupportedMediaType)
            // Nothing stored, and the service stays healthy.
            #expect(try await f.store.list(JobQuery(owner: nil)).total == 0)
            #expect(try await client.call(.get, "/health", token: nil).status == .ok)
            #expect(try await client.call(.get, "/api/v1/jobs", token: f.alice).status == .ok)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func listingPagesFiltersAndRefusesBadPaging(_ kind: StoreKind) async throws {
        let f = try await Fixture.make(kind)
        try await f.test { client in
            var ids: [String] = []
            for i in 0..<12 {
                let token = i % 4 == 0 ? f.bob : f.alice
                let r = try await client.call(.post, "/api/v1/jobs", token: token, body: #"{"name": "job \#(i)"}"#)
                if token == f.alice { ids.append(try #require(string(r.json?["id"]))) }
            }
            _ = try await client.call(.delete, "/api/v1/jobs/\(ids[0])", token: f.alice)
            var seen: [String] = []
            var uri = "/api/v1/jobs?limit=4"
            while true {
                let page = try await client.call(.get, uri, token: f.alice)
                #expect(page.status == .ok && number(page.json?["total"]) == 9 && number(page.json?["page_size"]) == 4)
                guard case .array(let jobs)? = page.json?["jobs"] else { Issue.record("no jobs array"); break }
                seen += jobs.compactMap { string($0["id"]) }
                guard let next = string(page.json?["next_cursor"]) else { break }
                uri = "/api/v1/jobs?limit=4&cursor=\(next)"
            }
            #expect(seen == ids.reversed())
            let admin = try await client.call(.get, "/api/v1/jobs?page_size=5&page=2", token: f.admin)
            #expect(number(admin.json?["total"]) == 12 && number(admin.json?["page"]) == 2)
            let cancelled = try await client.call(.get, "/api/v1/jobs?status=cancelled", token: f.alice)
            #expect(number(cancelled.json?["total"]) == 1)
            #expect(number(try await client.call(.get, "/api/v1/jobs?phase=queued&backend=local", token: f.alice).json?["total"]) == 8)
            for (query, field) in [("limit=-1", "limit"), ("limit=1000000000", "limit"), ("limit=abc", "limit"), ("page=0", "page"),
                                   ("page_size=0", "page_size"), ("cursor=xyz", "cursor"), ("status=done", "status"),
                                   ("backend=mars", "backend"), ("page=99999999999999999999", "page")] {
                let r = try await client.call(.get, "/api/v1/jobs?\(query)", token: f.alice)
                #expect(r.status == .badRequest && r.errorField == field, "\(query) → \(r.text)")
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func idempotencyKey(_ kind: StoreKind) async throws {
        let f = try await Fixture.make(kind)
        try await f.test { client in
            let body = #"{"name": "once"}"#
            let a = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: body, headers: [HTTPField.Name("Idempotency-Key")!: "k-1"])
            let b = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: body, headers: [HTTPField.Name("Idempotency-Key")!: "k-1"])
            #expect(a.status == .created && b.status == .created)
            #expect(string(a.json?["id"]) == string(b.json?["id"]))
            #expect(b.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let c = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: #"{"name": "other"}"#,
                                          headers: [HTTPField.Name("Idempotency-Key")!: "k-1"])
            #expect(c.status == .conflict && c.errorField == "Idempotency-Key")
            #expect(try await f.store.list(JobQuery(owner: nil)).total == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func cancelIsIdempotentAndRefusedForFinishedJobs(_ kind: StoreKind) async throws {
        let f = try await Fixture.make(kind)
        try await f.test { client in
            let id = try #require(string(try await client.call(.post, "/api/v1/jobs", token: f.alice, body: #"{"name": "c"}"#).json?["id"]))
            let first = try await client.call(.delete, "/api/v1/jobs/\(id)", token: f.alice)
            #expect(first.status == .accepted && string(first.json?["phase"]) == "cancelled" && string(first.json?["status"]) == "cancelled")
            #expect(try await client.call(.delete, "/api/v1/jobs/\(id)", token: f.alice).status == .accepted)
            #expect(try await client.call(.delete, "/api/v1/jobs/\(id)", token: f.bob).status == .notFound)
            let done = try #require(string(try await client.call(.post, "/api/v1/jobs", token: f.alice, body: #"{"name": "d"}"#).json?["id"]))
            _ = try await f.store.apply(.submit, to: done, changes: JobChanges())
            _ = try await f.store.apply(.complete, to: done, changes: JobChanges(exitCode: 0))
            let conflict = try await client.call(.delete, "/api/v1/jobs/\(done)", token: f.alice)
            #expect(conflict.status == .conflict && conflict.errorField == "id")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func statusResultsLogsAndTraversal(_ kind: StoreKind) async throws {
        let f = try await Fixture.make(kind)
        try await f.test { client in
            let id = try #require(string(try await client.call(.post, "/api/v1/jobs", token: f.alice, body: #"{"name": "r"}"#).json?["id"]))
            let job = try #require(try await f.store.job(id: id, owner: nil))
            let dir = f.backend.directory(for: job)
            let output = dir.appendingPathComponent("output")
            try FileManager.default.createDirectory(at: output.appendingPathComponent("powerspecs"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: output.appendingPathComponent("restartfiles"), withIntermediateDirectories: true)
            try Data("0123456789".utf8).write(to: output.appendingPathComponent("snapshot_000.hdf5"))
            try Data("k P\n".utf8).write(to: output.appendingPathComponent("powerspecs/powerspec_000.txt"))
            try Data("secret".utf8).write(to: output.appendingPathComponent("restartfiles/restart.0"))
            // What the sync loop stores from the run's progress.json and stdout.log.
            let progress = try #require(SolverProgress.decode(Data(#"{"state":"running","step":7,"scale_factor":0.25,"redshift":3,"fraction_done":0.4,"elapsed_seconds":2,"eta_seconds":3,"particles_per_second":10,"last_snapshot":"output/snapshot_000.hdf5","updated":"x"}"#.utf8)))
            try await f.store.update(id, changes: JobChanges(progress: 40, solverProgress: progress))
            let log = Array((1...10).map { "line \($0)\n" }.joined().utf8)
            #expect(try await f.store.appendLog(jobID: id, stream: .stdout, offset: 0, bytes: Array(log[..<25])))
            #expect(try await f.store.appendLog(jobID: id, stream: .stdout, offset: 25, bytes: Array(log[25...])))

            let status = try await client.call(.get, "/api/v1/simulations/\(id)/status", token: f.alice)
            #expect(status.status == .ok && number(status.json?["progress"]) == 40 && number(status.json?["redshift"]) == 3)
            #expect(number(status.json?["eta_seconds"]) == 3 && string(status.json?["phase"]) == "queued")

            let list = try await client.call(.get, "/api/v1/simulations/\(id)/results", token: f.alice)
            guard case .array(let files)? = list.json?["files"] else { Issue.record("no files: \(list.text)"); return }
            let names = files.compactMap { string($0["name"]) }
            #expect(names.contains("snapshot_000.hdf5") && names.contains("powerspecs/powerspec_000.txt"))
            #expect(!names.contains { $0.hasPrefix("restartfiles") })
            let snap = try #require(files.first { string($0["name"]) == "snapshot_000.hdf5" })
            #expect(number(snap["size"]) == 10)
            #expect(string(snap["sha256"]) == APIToken.hash(Array("0123456789".utf8)))

            let whole = try await client.call(.get, "/api/v1/simulations/\(id)/results/snapshot_000.hdf5", token: f.alice)
            #expect(whole.status == .ok && whole.text == "0123456789")
            let part = try await client.call(.get, "/api/v1/simulations/\(id)/results/snapshot_000.hdf5", token: f.alice,
                                             headers: [.range: "bytes=2-5"])
            #expect(part.status == .partialContent && part.text == "2345" && part.headers[.contentRange] == "bytes 2-5/10")
            let suffix = try await client.call(.get, "/api/v1/simulations/\(id)/results/snapshot_000.hdf5", token: f.alice,
                                               headers: [.range: "bytes=-3"])
            #expect(suffix.text == "789")
            #expect(try await client.call(.get, "/api/v1/simulations/\(id)/results/snapshot_000.hdf5", token: f.alice,
                                          headers: [.range: "bytes=20-30"]).status == .rangeNotSatisfiable)
            #expect(try await client.call(.get, "/api/v1/simulations/\(id)/results/powerspecs/powerspec_000.txt", token: f.alice).text == "k P\n")
            #expect(try await client.call(.get, "/api/v1/simulations/\(id)/results/snapshot_000.hdf5", token: f.bob).status == .notFound)
            for evil in ["../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e/%2e%2e/etc/passwd", "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
                         "powerspecs/../../param.txt", "%2Fetc%2Fpasswd", "restartfiles/restart.0", "a%00b", "..%5C..%5Cetc"] {
                let r = try await client.call(.get, "/api/v1/simulations/\(id)/results/\(evil)", token: f.alice)
                #expect([400, 404].contains(Int(r.status.code)), "\(evil) → \(r.status) \(r.text)")
                #expect(!r.text.contains("root:") && !r.text.contains("secret"))
                if r.status == .badRequest { #expect(r.errorField == "name") }
            }

            let logs = try await client.call(.get, "/api/v1/simulations/\(id)/logs?tail=3", token: f.alice)
            #expect(logs.json?["lines"] == .array([.string("line 8"), .string("line 9"), .string("line 10")]))
            #expect(try await client.call(.get, "/api/v1/simulations/\(id)/logs?tail=-1", token: f.alice).errorField == "tail")
            #expect(try await client.call(.get, "/api/v1/simulations/\(id)/logs?stream=../x", token: f.alice).errorField == "stream")
            _ = try await client.call(.delete, "/api/v1/jobs/\(id)", token: f.alice)
            let sse = try await client.call(.get, "/api/v1/simulations/\(id)/logs?tail=2&follow=true", token: f.alice)
            #expect(sse.headers[.contentType] == "text/event-stream")
            #expect(sse.text.hasPrefix("data: line 9\n\ndata: line 10\n\n") && sse.text.contains("event: end\ndata: cancelled"))
        }
    }

    @Test func metricsHealthCorsAndOpenAPI() async throws {
        let f = try await Fixture.make(.sqlite, cors: ["https://portal.example"])
        let yaml = try await f.test { client -> String in
            _ = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: #"{"name": "m"}"#)
            let metrics = try await client.call(.get, "/metrics", token: nil)
            #expect(metrics.status == .ok)
            #expect(metrics.text.contains("g4_http_requests_total{method=\"POST\",route=\"/api/v1/jobs\",status=\"201\"} 1"))
            #expect(metrics.text.contains("g4_jobs{state=\"queued\"} 1") && metrics.text.contains("g4_queue_depth 1"))
            #expect(metrics.text.contains("g4_http_request_duration_seconds_bucket"))
            #expect(string(try await client.call(.get, "/health", token: nil).json?["store"]) == "ok")
            let preflight = try await client.call(.options, "/api/v1/jobs", token: nil, headers: [
                .origin: "https://portal.example", .accessControlRequestMethod: "POST"])
            #expect(preflight.status == .noContent && preflight.headers[.accessControlAllowOrigin] == "https://portal.example")
            let other = try await client.call(.get, "/health", token: nil, headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            let allowed = try await client.call(.get, "/api/v1/jobs", token: f.alice, headers: [.origin: "https://portal.example"])
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://portal.example")
            // Served without a token: a portal discovers the API before it holds credentials.
            let doc = try await client.call(.get, "/openapi.yaml", token: nil)
            #expect(doc.status == .ok)
            return doc.text
        }
        // Every route is described.
        for path in ["/health:", "/metrics:", "/openapi.yaml:", "/api/v1/jobs:", "/api/v1/jobs/{id}:", "/api/v1/simulations/{id}/status:",
                     "/api/v1/simulations/{id}/results:", "/api/v1/simulations/{id}/results/{name}:", "/api/v1/simulations/{id}/logs:",
                     "/api/v1/jobs/{id}/script:", "/api/v1/uploads:", "/api/v1/uploads/{id}:", "/api/v1/sweeps:",
                     "/api/v1/sweeps/{id}:", "/api/v1/events:", "/api/v1/jobs/{id}/parameter-file:",
                     "/api/v1/simulations/{id}/plots/power-spectrum.svg:",
                     "/api/v1/simulations/{id}/plots/mass-function.svg:", "/api/v1/simulations/{id}/plots/density.png:"] {
            #expect(yaml.contains("  \(path)\n"), "\(path) missing")
        }
        // And the document is valid OpenAPI 3.1 (openapi-spec-validator from PyPI, in the test virtualenv).
        let file = Products.scratch("openapi").appendingPathComponent("openapi.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let out = try PostgresTestServer.run(Products.python, ["-m", "openapi_spec_validator", file.path])
        #expect(out.contains("OK"), "\(out)")
    }
}
