import Cosmology
import Foundation
import Hummingbird
import JobStore
import Jobs
import NIOCore
import Scheduling

/// What the dashboard shows of a run, computed on the server: P(k) of every
/// output against linear theory × D(a)², the FoF mass function with Poisson
/// errors (both SVG), a projected density image of the latest snapshot (PNG,
/// rendered by `g4sim snapshot density` and cached by the snapshot's size and
/// time), and a stream of the user's jobs' progress (Server-Sent Events).
extension SubmissionService {
    func outputDirectory(_ job: Job) throws -> URL {
        try directory(of: job).appendingPathComponent("output", isDirectory: true)
    }

    /// Files in the output folder named `prefix` + three digits + `suffix`, by number.
    static func numbered(_ folder: URL, prefix: String, suffix: String) -> [(Int, URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix(prefix), name.hasSuffix(suffix),
                  let n = Int(name.dropFirst(prefix.count).dropLast(suffix.count)) else { return nil }
            return (n, folder.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// One output's spectrum from GADGET-4's powerspec file: the unfolded
    /// block as (k, P), with a and D(1)/D(a) from its header.
    struct MeasuredSpectrum {
        var scaleFactor: Double
        var growthToPresent: Double
        var points: [(x: Double, y: Double)]
    }

    static func readSpectrum(_ url: URL) -> MeasuredSpectrum? {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return nil }
        let lines = text.split(whereSeparator: \.isNewline)
        guard lines.count > 5, let a = Double(lines[0]), let bins = Int(lines[1]), let growth = Double(lines[4]),
              lines.count >= 5 + bins else { return nil }
        var points: [(x: Double, y: Double)] = []
        for line in lines[5..<(5 + bins)] {
            let v = line.split(separator: " ").compactMap { Double($0) }
            guard v.count >= 2, v[0] > 0 else { continue }
            points.append((v[0], 2 * Double.pi * Double.pi * v[1] / (v[0] * v[0] * v[0])))
        }
        return MeasuredSpectrum(scaleFactor: a, growthToPresent: growth, points: points)
    }

    /// The linear spectrum at a = 1 the job's initial conditions were drawn from
    /// (N-GenIC jobs), from the effective parameters; nil for uploaded ICs.
    static func inputSpectrum(_ job: Job) -> LinearPowerSpectrum? {
        guard let p = try? JSONParser.parse(Array(job.parametersJSON.utf8)) else { return nil }
        func d(_ k: String) -> Double? { if case .number(let t)? = p[k] { return Double(t) }; return nil }
        guard d("NSample") != nil, let type = d("PowerSpectrumType"), let sigma8 = d("Sigma8") else { return nil }
        let om = d("Omega0") ?? 0.3, ob = d("OmegaBaryon") ?? 0.04, h = d("HubbleParam") ?? 0.7
        let shape: SpectrumShape
        switch Int(type) {
        case 1: shape = .eisensteinHuNoWiggle(omegaMatter: om, omegaBaryon: ob, h: h)
        case 3: shape = .eisensteinHu(omegaMatter: om, omegaBaryon: ob, h: h)
        case 0: shape = .efstathiou(shapeGamma: d("ShapeGamma") ?? 0.21)
        default: return nil
        }
        return LinearPowerSpectrum(shape: shape, primordialIndex: d("PrimordialIndex") ?? 1,
                                   unitLengthInCm: d("UnitLength_in_cm") ?? 3.085678e24).normalized(toSigma8: sigma8)
    }

    func powerSpectrumPlot(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        let folder = try outputDirectory(job).appendingPathComponent("powerspecs", isDirectory: true)
        let spectra = try await offloaded {
            Self.numbered(folder, prefix: "powerspec_", suffix: ".txt").compactMap { Self.readSpectrum($0.1) }
        }
        var plot = SVGPlot(kind: "power-spectrum", title: "Matter power spectrum: every output, and linear theory × D(a)²",
                           xLabel: "k [h/Mpc]", yLabel: "P(k) [(Mpc/h)³]")
        let linear = Self.inputSpectrum(job)
        for s in spectra {
            let z = 1 / s.scaleFactor - 1
            plot.series.append(.init(name: String(format: "z = %.2f", abs(z) < 0.005 ? 0 : z), points: s.points))
        }
        for s in spectra {
            let points: [(x: Double, y: Double)]
            if let linear {
                // The input spectrum is normalised at a = 1: scale by (D(a)/D(1))².
                points = s.points.map { ($0.x, linear.power($0.x) / (s.growthToPresent * s.growthToPresent)) }
            } else if let first = spectra.first {
                // Uploaded ICs: the first output's spectrum grown linearly, (D(a)/D(a₀))².
                let ratio = first.growthToPresent / s.growthToPresent
                points = first.points.map { ($0.x, $0.y * ratio * ratio) }
            } else { points = [] }
            plot.series.append(.init(name: String(format: "linear, z = %.2f", max(0, 1 / s.scaleFactor - 1)), points: points, style: .dashed))
        }
        return Self.svg(plot.render())
    }

    func massFunctionPlot(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        let folder = try outputDirectory(job)
        let catalogues = try await offloaded { Self.numbered(folder, prefix: "fof_tab_", suffix: ".hdf5") }
        var plot = SVGPlot(kind: "mass-function", title: "FoF mass function (Poisson errors)",
                           xLabel: "M [Msun/h]", yLabel: "dn/dlog10 M [(h/Mpc)³]")
        for (_, url) in catalogues {
            let summary = try await cached(job, url, suffix: "groups.json") { out in
                let result = try ChildProcess.run([settings.g4sim ?? "g4sim", "snapshot", "groups", url.path])
                guard result.status == 0, let line = result.output.split(separator: "\n").last else {
                    throw APIError(.internalServerError, "g4sim could not read \(url.lastPathComponent): \(result.error.prefix(300))")
                }
                try Data(line.utf8).write(to: out)
            }
            guard let json = try? JSONParser.parse(Array(summary)), case .array(let items)? = json["masses"],
                  case .number(let a)? = json["time"], case .number(let boxText)? = json["box_size"],
                  case .number(let unitText)? = json["unit_mass_g"], let box = Double(boxText), let unit = Double(unitText) else { continue }
            let masses = items.compactMap { v -> Double? in if case .number(let t) = v { return Double(t).map { $0 * unit / 1.989e33 } }; return nil }
                .filter { $0 > 0 }
            guard let lo = masses.min(), let hi = masses.max() else { continue }
            let width = 0.2, start = floor(log10(lo) / width) * width
            let bins = max(1, Int(ceil((log10(hi) - start) / width + 1e-9)))
            var counts = [Int](repeating: 0, count: bins)
            for m in masses { counts[min(bins - 1, Int((log10(m) - start) / width))] += 1 }
            let volume = box * box * box
            var series = SVGPlot.Series(name: String(format: "z = %.2f", max(0, 1 / (Double(a) ?? 1) - 1)), points: [], style: .markers)
            for (i, n) in counts.enumerated() where n > 0 {
                let centre = pow(10, start + (Double(i) + 0.5) * width)
                let value = Double(n) / (volume * width), error = Double(n).squareRoot() / (volume * width)
                series.points.append((centre, value))
                series.errors.append((value - error, value + error))
            }
            plot.series.append(series)
        }
        return Self.svg(plot.render())
    }

    func densityImage(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        let folder = try outputDirectory(job)
        guard let (_, snapshot) = try await offloaded({ Self.numbered(folder, prefix: "snapshot_", suffix: ".hdf5").last }) else {
            throw APIError(.notFound, field: "snapshot", "the job has written no snapshot yet")
        }
        let png = try await cached(job, snapshot, suffix: "density.png") { out in
            let result = try ChildProcess.run([settings.g4sim ?? "g4sim", "snapshot", "density", snapshot.path, "--pixels", "512",
                                               "--output", out.path])
            guard result.status == 0 else {
                throw APIError(.internalServerError, "g4sim could not render \(snapshot.lastPathComponent): \(result.error.prefix(300))")
            }
        }
        return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "private, max-age=60",
                                               .init("X-Snapshot")!: snapshot.lastPathComponent],
                        body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }

    /// `make` renders a derived file once per input version (name, size, time of change),
    /// in the plot cache; later calls read the cached file.
    func cached(_ job: Job, _ input: URL, suffix: String, make: @escaping @Sendable (URL) throws -> Void) async throws -> [UInt8] {
        guard let cache = settings.plotCacheDirectory else { throw APIError(.notFound, field: "(path)", "plots are not enabled on this server") }
        return try await offloaded {
            let attributes = try FileManager.default.attributesOfItem(atPath: input.path)
            let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            let modified = Int(((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0) * 1000)
            let folder = cache.appendingPathComponent(job.id, isDirectory: true)
            let file = folder.appendingPathComponent("\(input.lastPathComponent)-\(size)-\(modified).\(suffix)")
            if let data = FileManager.default.contents(atPath: file.path) { return Array(data) }
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let temporary = folder.appendingPathComponent(".\(UUID().uuidString.prefix(8))-\(suffix)")
            try make(temporary)
            guard rename(temporary.path, file.path) == 0, let data = FileManager.default.contents(atPath: file.path) else {
                throw APIError(.internalServerError, "could not cache \(file.lastPathComponent)")
            }
            return Array(data)
        }
    }

    static func svg(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "image/svg+xml", .cacheControl: "no-cache"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    // MARK: The parameter file

    /// The parameter file g4sim reads for the job, as the service stored it.
    func jobParameterFile(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let job = try await visibleJob(context)
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: job.parameterFile)))
    }

    // MARK: Progress events

    /// The caller's jobs (or one sweep's, or one job) as Server-Sent Events:
    /// an `event: job` with the job's state and progress whenever it changes
    /// (checked every second), `event: end` once a followed job or sweep ended.
    func events(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = context.principal!
        let owner = principal.isAdmin ? nil : principal.user
        let q = request.uri.queryParameters
        let sweepID = q.get("sweep"), jobID = q.get("job")
        if let s = sweepID {
            guard Self.isJobID(s), try await store.sweep(id: s, owner: owner) != nil else { throw APIError.notFound("sweep") }
        }
        if let j = jobID {
            guard Self.isJobID(j), try await store.job(id: j, owner: owner) != nil else { throw APIError.notFound() }
        }
        let store = self.store
        let body = ResponseBody { writer in
            var sent: [String: String] = [:]
            var quiet = 0
            while true {
                let jobs: [Job]
                if let sweepID { jobs = try await store.jobs(inSweep: sweepID) } else if let jobID {
                    jobs = try await store.job(id: jobID, owner: owner).map { [$0] } ?? []
                } else { jobs = try await store.list(JobQuery(owner: owner, limit: 100)).jobs }
                var out = ""
                for job in jobs {
                    let line = self.progressLine(job)
                    if sent[job.id] != line { sent[job.id] = line; out += "event: job\ndata: \(line)\n\n" }
                }
                if !out.isEmpty { try await writer.write(ByteBuffer(string: out)); quiet = 0 } else {
                    quiet += 1
                    if quiet % 15 == 0 { try await writer.write(ByteBuffer(string: ": keep-alive\n\n")) }
                }
                if sweepID != nil || jobID != nil, jobs.allSatisfy({ $0.state.isTerminal }) {
                    try await writer.write(ByteBuffer(string: "event: end\ndata: {}\n\n"))
                    break
                }
                try await Task.sleep(for: .seconds(1))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// One job's state and progress as a JSON object on one line.
    func progressLine(_ job: Job) -> String {
        let progress = job.solverProgress  // as the sync loop last read it
        var w = JSONWriter(capacity: 512)
        w.beginObject()
        w.field("id", job.id)
        w.field("name", job.name)
        w.field("status", job.state.status.rawValue)
        w.field("phase", job.state.rawValue)
        let percent = job.state == .completed ? 100 : max(job.progress, (progress?.fractionDone ?? 0) * 100)
        w.field("progress", (percent * 100).rounded() / 100)
        w.field("redshift", progress?.redshift)
        w.field("eta_seconds", job.state.isTerminal ? nil : progress?.etaSeconds)
        w.field("particles_per_second", progress?.particlesPerSecond)
        w.field("sweep_id", job.sweepID)
        w.timestampField("created_at", job.createdAt)
        w.endObject()
        return w.text
    }
}
