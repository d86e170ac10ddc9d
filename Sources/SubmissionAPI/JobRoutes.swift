import Foundation
import HTTPTypes
import Hummingbird
import JobStore
import Jobs
import Scheduling

extension SubmissionService {
    // MARK: POST /api/v1/jobs

    func createJob(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = context.principal!
        // JSON, or no type, or curl's default form type (the body must be JSON all the same);
        // text/plain is a GADGET-4 parameter file as it is.
        let type = request.headers[.contentType]?.lowercased()
        let isParameterFile = type?.hasPrefix("text/plain") == true
        if let type, !isParameterFile,
           !(type.hasPrefix("application/json") || type.hasPrefix("text/json") || type.hasPrefix("application/x-www-form-urlencoded")
             || (type.hasPrefix("application/") && type.contains("+json"))) {
            throw APIError(.unsupportedMediaType, field: "Content-Type", "must be application/json, or text/plain for a GADGET-4 parameter file")
        }
        var key: String?
        if let k = request.headers[HTTPField.Name("Idempotency-Key")!] {
            guard (1...255).contains(k.utf8.count), k.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
                throw APIError(.badRequest, field: "Idempotency-Key", "must be 1 to 255 visible ASCII characters")
            }
            key = k
        }
        let buffer = try await request.body.collect(upTo: Self.maxBodySize)
        let bytes = Array(buffer.readableBytesView)
        let body: JSONValue
        if isParameterFile {
            body = try Self.parameterFileBody(bytes, query: request.uri.queryParameters)
        } else {
            do {
                body = try JSONParser.parse(bytes)
            } catch {
                throw APIError(.badRequest, field: "(body)", error.description)
            }
        }
        let inputs = try await resolveInputs(body, owner: principal.user)
        let spec: JobSpec
        do {
            spec = try JobRequest.validate(body, limits: settings.limits, inputs: inputs)
        } catch {
            throw APIError(error)
        }
        guard let backend = registry.backend(for: spec.backend) else {
            throw APIError(.unprocessableContent, field: "backend",
                           "the \(spec.backend.rawValue) backend is not configured on this server; available: \((registry.kinds.map(\.rawValue) + ["auto"]).joined(separator: ", "))")
        }
        let job = Job(owner: principal.user, spec: spec, backend: backend.kind, idempotencyKey: key, requestHash: APIToken.hash(bytes))
        if let refusal = await backend.refusal(for: job) { throw APIError(refusal) }

        switch try await store.insert(job) {
        case .created(let stored):
            notify()
            return try await jobResponse(stored, status: .created, headers: [.location: "/api/v1/jobs/\(stored.id)"])
        case .existing(let stored):
            guard stored.requestHash == job.requestHash else {
                throw APIError(.conflict, field: "Idempotency-Key", "was used before with a different body (job \(stored.id))")
            }
            return try await jobResponse(stored, status: .created, headers: [
                .location: "/api/v1/jobs/\(stored.id)", HTTPField.Name("Idempotent-Replayed")!: "true",
            ])
        }
    }

    /// A text/plain submission as the JSON body it stands for: the file is
    /// `parameter_file`, the query gives the other fields (`name`,
    /// `description`, `filename`, `backend`, `ranks`, `nodes`,
    /// `wall_clock_limit`, `memory_mb`, `partition`, `account`, `qos`, and uploads by parameter name:
    /// `InitCondFile`, `OutputListFilename`, `PowerSpectrumFile`).
    static func parameterFileBody(_ bytes: [UInt8], query: Parameters) throws -> JSONValue {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APIError(.badRequest, field: "(body)", "a parameter file must be UTF-8 text")
        }
        func value(_ s: String) -> JSONValue { Double(s) != nil ? .number(s) : .string(s) }
        let fileName = query.get("filename") ?? "param.txt"
        var members: [(String, JSONValue)] = [("name", .string(query.get("name") ?? fileName)), ("parameter_file", .string(text)),
                                              ("parameter_file_name", .string(fileName))]
        if let d = query.get("description") { members.append(("description", .string(d))) }
        if let b = query.get("backend") { members.append(("backend", .string(b))) }
        let resources = ["ranks", "nodes", "wall_clock_limit", "memory_mb"].compactMap { k in query.get(k).map { (k, value($0)) } }
        if !resources.isEmpty { members.append(("resources", .object(resources))) }
        let placement = ["partition", "account", "qos"].compactMap { k in query.get(k).map { (k, JSONValue.string($0)) } }
        if !placement.isEmpty { members.append(("scheduler", .object(placement))) }
        let inputs = InputKind.allCases.compactMap { k in query.get(k.parameter).map { (k.parameter, JSONValue.string($0)) } }
        if !inputs.isEmpty { members.append(("inputs", .object(inputs))) }
        return .object(members)
    }

    func jobResponse(_ job: Job, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) async throws -> Response {
        let history = job.attempts > 0 ? try await store.attempts(jobID: job.id) : []
        return json(status, headers: headers) { w in job.writeJSON(to: &w, detailed: true, history: history) }
    }

    // MARK: GET /api/v1/jobs

    func listJobs(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = context.principal!
        let q = request.uri.queryParameters
        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = q.get(name) else { return nil }
            guard let v = Int(text), range.contains(v) else {
                throw APIError(.badRequest, field: name, "must be an integer from \(range.lowerBound) to \(range.upperBound); got '\(text.prefix(40))'")
            }
            return v
        }
        let limit = try integer("limit", 1...settings.maxPageSize) ?? integer("page_size", 1...settings.maxPageSize)
            ?? settings.defaultPageSize
        let page = try integer("page", 1...1_000_000) ?? 1
        var states: Set<JobState>?
        for name in ["status", "phase", "state"] {
            guard let text = q.get(name) else { continue }
            var set = Set<JobState>()
            for part in text.split(separator: ",") {
                if let s = JobState(rawValue: String(part)) { set.insert(s) } else if let s = SeedStatus(rawValue: String(part)) {
                    set.formUnion(s.states)
                } else {
                    throw APIError(.badRequest, field: name, "unknown state '\(part.prefix(40))'; allowed: \((SeedStatus.allCases.map(\.rawValue) + JobState.allCases.map(\.rawValue)).joined(separator: ", "))")
                }
            }
            if set.isEmpty { throw APIError(.badRequest, field: name, "is empty") }
            states = states.map { $0.intersection(set) } ?? set
        }
        var backend: BackendKind?
        if let text = q.get("backend") {
            guard let b = BackendKind(rawValue: text), b != .auto else {
                throw APIError(.badRequest, field: "backend", "must be one of local, slurm, kubernetes")
            }
            backend = b
        }
        var cursor: Cursor?
        if let text = q.get("cursor") {
            guard let c = Cursor(token: text) else { throw APIError(.badRequest, field: "cursor", "is not a cursor this API gave out") }
            cursor = c
        }
        let offset = (page - 1) * limit
        guard offset <= 100_000_000 else { throw APIError(.badRequest, field: "page", "is too far; use cursor paging") }
        let result = try await store.list(JobQuery(owner: principal.isAdmin ? nil : principal.user, states: states, backend: backend,
                                                   limit: limit, after: cursor, offset: offset))
        return json(.ok, capacity: 256 + 1536 * result.jobs.count) { w in
            w.beginObject()
            w.key("jobs")
            w.beginArray()
            for job in result.jobs { job.writeJSON(to: &w) }
            w.endArray()
            w.field("total", result.total)
            w.field("page", page)
            w.field("page_size", limit)
            w.field("next_cursor", result.nextCursor?.token)
            w.endObject()
        }
    }

    // MARK: GET / DELETE /api/v1/jobs/{id}

    /// The job named in the path, if the caller may see it (others' jobs are 404, not 403).
    func visibleJob(_ context: APIRequestContext) async throws -> Job {
        guard let id = context.parameters.get("id"), Self.isJobID(id) else { throw APIError.notFound() }
        let principal = context.principal!
        guard let job = try await store.job(id: id, owner: principal.isAdmin ? nil : principal.user) else {
            throw APIError.notFound()
        }
        return job
    }

    static func isJobID(_ s: String) -> Bool {
        s.utf8.count == 36 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x2D }
    }

    func getJob(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        try await jobResponse(try await visibleJob(context))
    }

    /// The batch script of the job's latest attempt, as submitted (Slurm;
    /// the local backend's is the command it runs).
    func script(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        guard let text = try await store.attempts(jobID: job.id).last(where: { $0.script != nil })?.script else {
            throw APIError(.notFound, field: "id", "the job has no batch script (it was not submitted to a batch scheduler yet)")
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Cancel: 202 while it stops (and again on repeats), 409 once it ended otherwise.
    func cancelJob(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        if job.state == .cancelled { return try await jobResponse(job, status: .accepted) }
        if job.state.isTerminal {
            throw APIError(.conflict, field: "id", "the job already ended (\(job.state.rawValue)); nothing to cancel")
        }
        var current = try await store.requestCancel(id: job.id) ?? job
        if current.state == .queued || current.state == .requeued {
            if let cancelled = try await store.apply(.cancel, to: job.id, changes: JobChanges(errorMessage: "cancelled before it started")) {
                current = cancelled
            } else if let now = try await store.job(id: job.id, owner: nil) {
                current = now  // the dispatcher got there first
            }
        }
        notify()
        if current.state.isTerminal && current.state != .cancelled {
            throw APIError(.conflict, field: "id", "the job already ended (\(current.state.rawValue)); nothing to cancel")
        }
        return try await jobResponse(current, status: .accepted)
    }
}
