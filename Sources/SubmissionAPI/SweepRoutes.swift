import Foundation
import HTTPTypes
import Hummingbird
import JobStore
import Jobs
import Parameters

/// Parameter sweeps: one request that varies named parameters over lists
/// or ranges creates one job per point (the product of the lists), all
/// validated before any is stored, stored in one transaction, and listed,
/// followed and cancelled as a group. Each job carries the sweep's id; every
/// point is a job of its own on every backend (on Slurm one sbatch per point,
/// not yet one job array).
extension SubmissionService {
    /// One varied parameter: its name and values in order.
    struct SweepAxis {
        let parameter: String
        let values: [JSONValue]
    }

    static let sweepFields: Set<String> = ["name", "description", "base", "vary"]

    func createSweep(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = context.principal!
        let buffer = try await request.body.collect(upTo: Self.maxBodySize)
        let body: JSONValue
        do { body = try JSONParser.parse(Array(buffer.readableBytesView)) } catch {
            throw APIError(.badRequest, field: "(body)", error.description)
        }
        guard case .object(let members) = body else { throw APIError(.unprocessableContent, field: "(body)", "must be a JSON object") }
        for (key, _) in members where !Self.sweepFields.contains(key) {
            throw APIError(.unprocessableContent, field: JobRequest.printable(key), "unknown field; allowed: \(Self.sweepFields.sorted().joined(separator: ", "))")
        }
        let name: String
        do { name = try JobRequest.requiredName(body["name"], limits: settings.limits) } catch { throw APIError(error) }
        var base: [(String, JSONValue)] = []
        if let b = body["base"], b != .null {
            guard case .object(let m) = b else { throw APIError(.unprocessableContent, field: "base", "must be a job request object") }
            base = m
        }
        if base.contains(where: { $0.0 == "name" }) {
            throw APIError(.unprocessableContent, field: "base.name", "the sweep's name names its jobs; leave it out of base")
        }
        let axes = try Self.sweepAxes(body["vary"])
        let points = axes.reduce(1) { $0 * $1.values.count }
        guard points <= settings.maxSweepPoints else {
            throw APIError(.unprocessableContent, field: "vary", "makes \(points) points; this server runs at most \(settings.maxSweepPoints) per sweep (SWEEP_MAX_POINTS)")
        }
        let sweepID = UUID().uuidString.lowercased()
        let inputs = try await resolveInputs(.object(base), owner: principal.user)
        var jobs: [Job] = []
        for index in 0..<points {
            // Mixed-radix digits of the index pick one value per axis (the last axis varies fastest).
            var rest = index
            var chosen: [(String, JSONValue)] = []
            for axis in axes.reversed() {
                chosen.insert((axis.parameter, axis.values[rest % axis.values.count]), at: 0)
                rest /= axis.values.count
            }
            let label = chosen.map { "\($0.0)=\(Self.shown($0.1))" }.joined(separator: ", ")
            var point = base.filter { $0.0 != "parameters" && $0.0 != "description" }
            var parameters: [(String, JSONValue)] = []
            if case .object(let given)? = JSONValue.object(base)["parameters"] { parameters = given.filter { p in !chosen.contains { $0.0 == p.0 } } }
            parameters += chosen
            point.append(("parameters", .object(parameters)))
            point.append(("name", .string("\(name) \(index + 1) of \(points)")))
            let description = (string(body["description"]).map { $0 + "\n" } ?? "") + "sweep point \(index + 1) of \(points): \(label)"
            point.append(("description", .string(description)))
            let spec: JobSpec
            do {
                spec = try JobRequest.validate(.object(point), limits: settings.limits, inputs: inputs)
            } catch {
                let varied = axes.first { error.field == "parameters.\($0.parameter)" }
                var e = APIError(.unprocessableContent, field: varied.map { "vary.\($0.parameter)" } ?? "base.\(error.field)",
                                 "\(error.message) (at point \(index + 1): \(label))")
                e.details = error.details
                throw e
            }
            guard let backend = registry.backend(for: spec.backend) else {
                throw APIError(.unprocessableContent, field: "base.backend",
                               "the \(spec.backend.rawValue) backend is not configured on this server; available: \((registry.kinds.map(\.rawValue) + ["auto"]).joined(separator: ", "))")
            }
            let job = Job(owner: principal.user, spec: spec, backend: backend.kind, sweepID: sweepID)
            if index == 0, let refusal = await backend.refusal(for: job) {
                // The points differ only in physics parameters, so one answer holds for all (Slurm asks sacctmgr).
                var e = APIError(.unprocessableContent, field: "base.\(refusal.field)", refusal.message)
                e.details = refusal.details
                throw e
            }
            jobs.append(job)
        }
        var vary = JSONWriter(capacity: 256)
        vary.beginObject()
        for axis in axes {
            vary.key(escaping: axis.parameter); vary.beginArray(); for v in axis.values { vary.value(v) }; vary.endArray()
        }
        vary.endObject()
        let sweep = Sweep(id: sweepID, owner: principal.user, name: name, points: points, varyJSON: vary.text)
        let stored = try await store.insertSweep(sweep, jobs: jobs)
        notify()
        return json(.created, headers: [.location: "/api/v1/sweeps/\(sweepID)"], capacity: 1024 + 1536 * stored.count) { w in
            Self.writeSweep(sweep, jobs: stored, to: &w)
        }
    }

    /// `vary`: parameter name → a list of values, or {"from", "to", "steps"} (evenly spaced, ends included;
    /// "spacing": "log" for logarithmic steps).
    static func sweepAxes(_ value: JSONValue?) throws -> [SweepAxis] {
        guard case .object(let members)? = value, !members.isEmpty, members.count <= 8 else {
            throw APIError(.unprocessableContent, field: "vary", "must be an object of 1 to 8 GADGET-4 parameter names, each with a list of values or {\"from\", \"to\", \"steps\"}")
        }
        var axes: [SweepAxis] = []
        for (name, spec) in members {
            let field = "vary.\(JobRequest.printable(name))"
            guard ParameterTable.spec(named: name) != nil else {
                throw APIError(.unprocessableContent, field: field, "unknown GADGET-4 parameter")
            }
            if let why = JobRequest.serviceControlled[name] { throw APIError(.unprocessableContent, field: field, why) }
            switch spec {
            case .array(let items):
                guard (1...1000).contains(items.count) else { throw APIError(.unprocessableContent, field: field, "must list 1 to 1000 values") }
                axes.append(SweepAxis(parameter: name, values: items))
            case .object:
                func number(_ key: String) throws -> Double {
                    guard case .number(let t)? = spec[key], let d = Double(t), d.isFinite else {
                        throw APIError(.unprocessableContent, field: "\(field).\(key)", "must be a finite number")
                    }
                    return d
                }
                let from = try number("from"), to = try number("to")
                guard case .number(let s)? = spec["steps"], let steps = Int(s), (2...1000).contains(steps) else {
                    throw APIError(.unprocessableContent, field: "\(field).steps", "must be an integer from 2 to 1000")
                }
                let log: Bool
                switch spec["spacing"] {
                case nil, .string("linear")?: log = false
                case .string("log")?:
                    guard from > 0, to > 0 else { throw APIError(.unprocessableContent, field: "\(field).spacing", "log spacing needs from and to above 0") }
                    log = true
                default: throw APIError(.unprocessableContent, field: "\(field).spacing", "must be linear or log")
                }
                let values: [JSONValue] = (0..<steps).map { i in
                    let u = Double(i) / Double(steps - 1)
                    let v = log ? exp((1 - u) * Foundation.log(from) + u * Foundation.log(to)) : from + u * (to - from)
                    // Rounded to 12 significant digits, so that 0.7 + 0.05 shows as 0.75.
                    return .number(String(Double(String(format: "%.12g", v)) ?? v))
                }
                axes.append(SweepAxis(parameter: name, values: values))
            default:
                throw APIError(.unprocessableContent, field: field, "must be a list of values or {\"from\", \"to\", \"steps\"}")
            }
        }
        return axes
    }

    static func shown(_ v: JSONValue) -> String {
        switch v {
        case .number(let t): t
        case .string(let s): s
        case .bool(let b): b ? "1" : "0"
        default: "?"
        }
    }

    /// The sweep with its jobs, per-phase counts and mean progress.
    static func writeSweep(_ sweep: Sweep, jobs: [Job], detailed: Bool = true, to w: inout JSONWriter) {
        w.beginObject()
        w.field("id", sweep.id)
        w.field("name", sweep.name)
        w.field("owner", sweep.owner)
        w.field("points", sweep.points)
        w.key("vary"); w.raw(sweep.varyJSON)
        w.timestampField("created_at", sweep.createdAt)
        var counts: [JobState: Int] = [:]
        for j in jobs { counts[j.state, default: 0] += 1 }
        w.key("counts")
        w.beginObject()
        for s in JobState.allCases where counts[s] != nil { w.key(escaping: s.rawValue); w.int(counts[s]!) }
        w.endObject()
        let active = jobs.contains { !$0.state.isTerminal }
        w.field("state", active ? "active" : "ended")
        let progress = jobs.isEmpty ? 0 : jobs.map { $0.state == .completed ? 100 : $0.progress }.reduce(0, +) / Double(jobs.count)
        w.field("progress", (progress * 100).rounded() / 100)
        if detailed {
            w.key("jobs")
            w.beginArray()
            for j in jobs { j.writeJSON(to: &w) }
            w.endArray()
        }
        w.endObject()
    }

    func visibleSweep(_ context: APIRequestContext) async throws -> Sweep {
        let principal = context.principal!
        guard let id = context.parameters.get("id"), Self.isJobID(id),
              let sweep = try await store.sweep(id: id, owner: principal.isAdmin ? nil : principal.user) else {
            throw APIError.notFound("sweep")
        }
        return sweep
    }

    func listSweeps(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = context.principal!
        let sweeps = try await store.sweeps(owner: principal.isAdmin ? nil : principal.user, limit: 100)
        var withJobs: [(Sweep, [Job])] = []
        for s in sweeps { withJobs.append((s, try await store.jobs(inSweep: s.id))) }
        return json(.ok) { w in
            w.beginObject(); w.key("sweeps"); w.beginArray()
            for (s, jobs) in withJobs { Self.writeSweep(s, jobs: jobs, detailed: false, to: &w) }
            w.endArray(); w.endObject()
        }
    }

    func getSweep(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let sweep = try await visibleSweep(context)
        let jobs = try await store.jobs(inSweep: sweep.id)
        return json(.ok, capacity: 1024 + 1536 * jobs.count) { w in Self.writeSweep(sweep, jobs: jobs, to: &w) }
    }

    /// Cancels every point that has not ended (202; idempotent). Points that ended keep their results.
    func cancelSweep(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let sweep = try await visibleSweep(context)
        for job in try await store.jobs(inSweep: sweep.id) where !job.state.isTerminal {
            let current = try await store.requestCancel(id: job.id) ?? job
            if current.state == .queued || current.state == .requeued {
                _ = try await store.apply(.cancel, to: job.id, changes: JobChanges(errorMessage: "cancelled with its sweep before it started"))
            }
        }
        notify()
        let jobs = try await store.jobs(inSweep: sweep.id)
        return json(.accepted, capacity: 1024 + 1536 * jobs.count) { w in Self.writeSweep(sweep, jobs: jobs, to: &w) }
    }
}

private func string(_ v: JSONValue?) -> String? { if case .string(let s)? = v { return s }; return nil }
