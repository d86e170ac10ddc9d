import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobStore
import Jobs
import Scheduling
import ServiceTestSupport
import SubmissionAPI
import TestSupport
import Testing

/// A service with uploads on (checked by the real g4sim) and small limits.
func usersSideFixture(_ kind: StoreKind, maxUploadBytes: Int64 = 4 << 20, maxSweepPoints: Int = 8) async throws -> (Fixture, uploads: URL) {
    let store = try await kind.makeStore()
    let scratch = Products.scratch("users")
    let backend = LocalBackend(.init(resultsDirectory: scratch.appendingPathComponent("results"), g4sim: "/bin/false", slots: 2))
    var settings = SubmissionService.Settings()
    settings.uploadsDirectory = scratch.appendingPathComponent("uploads")
    settings.maxUploadBytes = maxUploadBytes
    settings.maxSweepPoints = maxSweepPoints
    settings.g4sim = Products.g4sim
    let service = SubmissionService(store: store, registry: BackendRegistry([backend]), settings: settings)
    var tokens: [String] = []
    for (user, admin) in [("alice", false), ("bob", false), ("root", true)] {
        let t = APIToken.generate()
        try await store.insertToken(hash: APIToken.hash(t), user: user, admin: admin)
        tokens.append(t)
    }
    return (Fixture(store: store, backend: backend, service: service, alice: tokens[0], bob: tokens[1], admin: tokens[2]),
            settings.uploadsDirectory!)
}

enum Reference {
    static let n32 = TestEnvironment.reference.appendingPathComponent("N32")
    static func text(_ name: String) throws -> String { try String(contentsOf: n32.appendingPathComponent(name), encoding: .utf8) }
    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: n32.appendingPathComponent(name))) }
}

extension TestClientProtocol {
    func upload(_ bytes: [UInt8], query: String, token: String?) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: "/api/v1/uploads?\(query)", method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    func submitFile(_ text: String, query: String, token: String) async throws -> TestResponse {
        try await execute(uri: "/api/v1/jobs?\(query)", method: .post,
                          headers: [.authorization: "Bearer \(token)", .contentType: "text/plain"], body: ByteBuffer(string: text))
    }
}

func strings(_ v: JSONValue?) -> [String] {
    guard case .array(let items)? = v else { return [] }
    return items.compactMap { if case .string(let s) = $0 { return s }; return nil }
}

@Suite struct UsersSideAPITests {
    /// A malformed parameter file gets exactly the lines `g4sim params check` prints, by both routes.
    @Test(arguments: StoreKind.allCases)
    func malformedParameterFileGetsTheSameMessagesAsParamsCheck(_ kind: StoreKind) async throws {
        let bad = """
            % a GADGET-4 parameter file with four mistakes
            InitCondFile      ./ics
            OutputDir         ./output
            Omega0            0.3
            Omega0            0.31
            BoxSise           50
            HubbleParam       abc
            TimeMax           2.0 1
            """
        let dir = Products.scratch("params")
        try bad.write(to: dir.appendingPathComponent("bad.txt"), atomically: true, encoding: .utf8)
        let check = try ProcessRunner.run(Products.g4sim, ["params", "check", "bad.txt"], directory: dir)
        #expect(check.status == 1)
        // g4sim prints a count line, then one indented line per problem.
        let expected = check.stderr.split(separator: "\n").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(expected.count >= 4 && expected.contains { $0.hasPrefix("bad.txt:6: BoxSise: unknown parameter") }, "\(check.stderr)")

        let (f, _) = try await usersSideFixture(kind)
        try await f.test { client in
            let plain = try await client.submitFile(bad, query: "filename=bad.txt", token: f.alice)
            #expect(plain.status == .unprocessableContent && plain.errorField == "parameter_file")
            #expect(strings(plain.json?["error"]?["details"]) == expected, "\(plain.text)")
            var w = JSONWriter()
            w.beginObject(); w.field("name", "bad"); w.field("parameter_file", bad); w.field("parameter_file_name", "bad.txt"); w.endObject()
            let json = try await client.call(.post, "/api/v1/jobs", token: f.alice, body: w.text)
            #expect(json.status == .unprocessableContent && strings(json.json?["error"]?["details"]) == expected, "\(json.text)")
            #expect(try await f.store.list(JobQuery(owner: nil)).total == 0)
        }
    }

    /// GADGET-4's N32 param.txt as it is, with its ICs and output list uploaded: the
    /// service-controlled names are rewritten and the rewrites shown; uploads are the owner's.
    @Test(arguments: StoreKind.allCases)
    func referenceParameterFileWithUploadsAndOwnership(_ kind: StoreKind) async throws {
        let (f, _) = try await usersSideFixture(kind)
        let param = try Reference.text("param.txt")
        let ics = try Reference.bytes("ic_N32.hdf5")
        try await f.test { client in
            // Without its files, the answer names the line that reads them.
            let missing = try await client.submitFile(param, query: "name=n32", token: f.alice)
            #expect(missing.status == .unprocessableContent && missing.errorField == "inputs.InitCondFile", "\(missing.text)")
            let icLine = param.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("InitCondFile") }! + 1
            #expect(missing.text.contains("param.txt:\(icLine)"), "\(missing.text)")

            let icUpload = try await client.upload(ics, query: "kind=ics&name=ic_N32.hdf5", token: f.alice)
            #expect(icUpload.status == .created, "\(icUpload.text)")
            let icID = try #require(string(icUpload.json?["id"]))
            #expect(string(icUpload.json?["sha256"]) == APIToken.hash(ics) && number(icUpload.json?["size"]) == Double(ics.count))
            #expect(string(icUpload.json?["format"]) == "hdf5" && number(icUpload.json?["summary"]?["particles"]) == 32768)
            #expect(number(icUpload.json?["summary"]?["box_size"]) == 50 && number(icUpload.json?["summary"]?["time"]) == 0.015625)
            let list = try await client.upload(Array(try Reference.text("outputs.txt").utf8), query: "kind=output_list&name=outputs.txt", token: f.alice)
            #expect(list.status == .created, "\(list.text)")
            let listID = try #require(string(list.json?["id"]))

            let job = try await client.submitFile(param, query: "name=n32&ranks=2&InitCondFile=\(icID)&OutputListFilename=\(listID)", token: f.alice)
            #expect(job.status == .created, "\(job.text)")
            #expect(number(job.json?["num_particles"]) == 32768 && number(job.json?["box_size"]) == 50)
            #expect(number(job.json?["resources"]?["ranks"]) == 2 && number(job.json?["resources"]?["wall_clock_limit"]) == 86400)
            guard case .array(let rewrites)? = job.json?["rewrites"] else { Issue.record("no rewrites: \(job.text)"); return }
            func rewrite(_ p: String) -> JSONValue? { rewrites.first { string($0["parameter"]) == p } }
            #expect(string(rewrite("OutputDir")?["given"]) == "./output" && string(rewrite("OutputDir")?["used"]) == "output")
            #expect(string(rewrite("InitCondFile")?["given"]) == "./ic_N32" && string(rewrite("InitCondFile")?["upload_id"]) == icID)
            let icPath = try #require(string(rewrite("InitCondFile")?["used"]))
            #expect(FileManager.default.fileExists(atPath: icPath + ".hdf5"))
            #expect(string(rewrite("OutputListFilename")?["upload_id"]) == listID)
            #expect(string(job.json?["effective_parameters"]?["InitCondFile"]) == icPath)
            #expect(number(job.json?["effective_parameters"]?["PMGRID"]) == 64 && number(job.json?["effective_parameters"]?["Omega0"]) == 0.308)
            let jobID = try #require(string(job.json?["id"]))
            let stored = try #require(try await f.store.job(id: jobID, owner: nil))
            #expect(stored.parameterFile.split(separator: "\n").contains { $0.hasPrefix("OutputDir ") && $0.hasSuffix(" output") })
            #expect(stored.outputList == "0.25\n0.5\n1.0\n")

            // Another user can neither see nor use the uploads.
            #expect(try await client.call(.get, "/api/v1/uploads/\(icID)", token: f.bob).status == .notFound)
            let stolen = try await client.submitFile(param, query: "InitCondFile=\(icID)&OutputListFilename=\(listID)", token: f.bob)
            #expect(stolen.status == .unprocessableContent && stolen.errorField == "inputs.InitCondFile", "\(stolen.text)")
            #expect(try await client.call(.get, "/api/v1/uploads", token: f.bob).json?["uploads"] == .array([]))
            let mine = try await client.call(.get, "/api/v1/uploads", token: f.alice)
            guard case .array(let uploads)? = mine.json?["uploads"] else { Issue.record("no uploads"); return }
            #expect(uploads.count == 2)
            // A kind mismatch names the field.
            let swapped = try await client.submitFile(param, query: "InitCondFile=\(listID)&OutputListFilename=\(icID)", token: f.alice)
            #expect(swapped.status == .unprocessableContent && swapped.text.contains("of kind"), "\(swapped.text)")
        }
    }

    /// Corrupt initial conditions are refused with 422 naming the problem, by g4sim's reader;
    /// over the limit is 413; nothing is left behind.
    @Test func brokenAndOversizedUploadsAreRefused() async throws {
        let (f, uploads) = try await usersSideFixture(.sqlite, maxUploadBytes: 1 << 20)
        let ics = try Reference.bytes("ic_N32.hdf5")
        try await f.test { client in
            // The reference ICs cut short (the first 600 kB of 930 kB).
            let cut = try await client.upload(Array(ics.prefix(600_000)), query: "kind=ics", token: f.alice)
            #expect(cut.status == .unprocessableContent, "\(cut.text)")
            let cutMessage = string(cut.json?["error"]?["message"]) ?? ""
            #expect(cutMessage.contains("g4sim cannot read") && cutMessage.contains("truncated"), "\(cutMessage)")
            let notHDF5 = try await client.upload(Array("this is not an HDF5 file\n".utf8), query: "kind=ics&format=hdf5", token: f.alice)
            #expect(notHDF5.status == .unprocessableContent && (string(notHDF5.json?["error"]?["message"]) ?? "").contains("not an HDF5 file"))
            let sniffed = try await client.upload(Array(String(repeating: "x", count: 300).utf8), query: "kind=ics", token: f.alice)
            #expect(sniffed.status == .unprocessableContent && (string(sniffed.json?["error"]?["message"]) ?? "").contains("format 1"), "\(sniffed.text)")
            let big = try await client.upload([UInt8](repeating: 0, count: (1 << 20) + 1), query: "kind=ics", token: f.alice)
            #expect(big.status == .contentTooLarge && big.errorField == "(body)")
            let badList = try await client.upload(Array("0.5\nhalf\n".utf8), query: "kind=output_list&name=outs.txt", token: f.alice)
            #expect(badList.status == .unprocessableContent && (string(badList.json?["error"]?["message"]) ?? "").contains("outs.txt:2"))
            #expect(try await client.upload([1], query: "kind=movies", token: f.alice).errorField == "kind")
            #expect(try await client.upload([1], query: "kind=ics", token: nil).status == .unauthorized)
        }
        let left = (try? FileManager.default.contentsOfDirectory(atPath: uploads.path)) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
    }

    /// Sweeps: the product of the varied values, validated as a whole, stored together,
    /// listed with counts and cancelled as a group; the limit comes from the settings.
    @Test(arguments: StoreKind.allCases)
    func sweepsAreCreatedListedAndCancelledAsAGroup(_ kind: StoreKind) async throws {
        let (f, _) = try await usersSideFixture(kind, maxSweepPoints: 8)
        try await f.test { client in
            let body = #"{"name": "sigma8 scan", "base": {"num_particles": 4096, "time_max": 0.05, "parameters": {"PMGRID": 32}}, "vary": {"Sigma8": {"from": 0.7, "to": 0.9, "steps": 5}, "Seed": [1, 2]}}"#
            let tooMany = try await client.call(.post, "/api/v1/sweeps", token: f.alice, body: body)
            #expect(tooMany.status == .unprocessableContent && tooMany.errorField == "vary" && tooMany.text.contains("makes 10 points")
                    && tooMany.text.contains("at most 8"), "\(tooMany.text)")
            let bad = try await client.call(.post, "/api/v1/sweeps", token: f.alice,
                                            body: #"{"name": "s", "vary": {"Sigma8": [0.8, -1]}}"#)
            #expect(bad.status == .unprocessableContent && bad.errorField == "vary.Sigma8" && bad.text.contains("point 2"), "\(bad.text)")
            #expect(try await client.call(.post, "/api/v1/sweeps", token: f.alice, body: #"{"name": "s", "vary": {"OutputDir": ["a"]}}"#)
                .errorField == "vary.OutputDir")
            #expect(try await f.store.list(JobQuery(owner: nil)).total == 0)

            let six = #"{"name": "sigma8 scan", "base": {"num_particles": 4096, "time_max": 0.05, "parameters": {"PMGRID": 32}}, "vary": {"Sigma8": {"from": 0.7, "to": 0.9, "steps": 3}, "Seed": [1, 2]}}"#
            let created = try await client.call(.post, "/api/v1/sweeps", token: f.alice, body: six)
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(string(created.json?["id"]))
            guard case .array(let jobs)? = created.json?["jobs"] else { Issue.record("no jobs"); return }
            #expect(jobs.count == 6 && number(created.json?["points"]) == 6)
            let points = jobs.map { (number($0["parameters"]?["Sigma8"]) ?? 0, number($0["parameters"]?["Seed"]) ?? 0) }
            #expect(points.map(\.0) == [0.7, 0.7, 0.8, 0.8, 0.9, 0.9] && points.map(\.1) == [1, 2, 1, 2, 1, 2], "\(points)")
            #expect(jobs.allSatisfy { string($0["sweep_id"]) == id && number($0["num_particles"]) == 4096 })
            #expect(string(jobs[0]["name"]) == "sigma8 scan 1 of 6")

            let listed = try await client.call(.get, "/api/v1/sweeps", token: f.alice)
            guard case .array(let sweeps)? = listed.json?["sweeps"] else { Issue.record("no sweeps"); return }
            #expect(sweeps.count == 1 && number(sweeps[0]["counts"]?["queued"]) == 6 && string(sweeps[0]["state"]) == "active")
            #expect(try await client.call(.get, "/api/v1/sweeps/\(id)", token: f.bob).status == .notFound)
            #expect(try await client.call(.delete, "/api/v1/sweeps/\(id)", token: f.bob).status == .notFound)

            let cancelled = try await client.call(.delete, "/api/v1/sweeps/\(id)", token: f.alice)
            #expect(cancelled.status == .accepted && number(cancelled.json?["counts"]?["cancelled"]) == 6 && string(cancelled.json?["state"]) == "ended")
            #expect(try await client.call(.delete, "/api/v1/sweeps/\(id)", token: f.alice).status == .accepted)
            #expect(number(try await client.call(.get, "/api/v1/jobs?status=cancelled", token: f.alice).json?["total"]) == 6)
        }
    }

    /// The CLI's client is generated from a committed copy of the document; it must be the one g4api serves.
    @Test func committedClientDocumentIsTheServedOne() throws {
        let committed = try String(contentsOf: Products.packageRoot.appendingPathComponent("Sources/g4/openapi.yaml"), encoding: .utf8)
        #expect(committed == OpenAPIDocument.yaml + "\n", "Sources/g4/openapi.yaml is stale: run scripts/generate-client.sh")
    }
}
