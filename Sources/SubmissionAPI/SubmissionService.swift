import Foundation
import Hummingbird
import JobStore
import Jobs
import Logging
import Scheduling
import ServiceLifecycle

/// The request context: Hummingbird's plus the authenticated principal.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        principal = nil
    }

    /// Bodies above 1 MiB are refused with 413.
    public var maxUploadSize: Int { SubmissionService.maxBodySize }
}

/// The REST service: routes, auth, CORS, metrics, OpenAPI. Built from its
/// dependencies so tests can drive it with Hummingbird's test client and
/// g4api can serve it.
public struct SubmissionService: Sendable {
    public static let maxBodySize = 1 << 20

    public struct Settings: Sendable {
        /// Origins allowed by CORS (exact match; empty: none).
        public var corsOrigins: Set<String> = []
        /// How long a verified token is remembered.
        public var tokenCacheSeconds: Double = 5
        public var defaultPageSize = 20
        public var maxPageSize = 1000
        public var limits = JobRequest.Limits()
        /// Where uploads are kept (nil: uploads are off).
        public var uploadsDirectory: URL?
        /// Largest upload of initial conditions, in bytes (413 past it).
        public var maxUploadBytes: Int64 = 4 << 30
        /// Most points one sweep may have.
        public var maxSweepPoints = 100
        /// The g4sim binary that checks uploaded initial conditions and renders plots.
        public var g4sim: String?
        /// Where rendered plots (density images, catalogue summaries) are cached (nil: plots off).
        public var plotCacheDirectory: URL?
        public init() {}
    }

    let store: any JobStorage
    let registry: BackendRegistry
    let settings: Settings
    let metrics: APIMetrics
    let tokens: TokenCache
    /// Called after a job was stored or a cancel requested (wakes the sync loops).
    let notify: @Sendable () -> Void
    let results: ResultFiles

    public init(store: any JobStorage, registry: BackendRegistry, settings: Settings = Settings(),
                metrics: APIMetrics = APIMetrics(), notify: @escaping @Sendable () -> Void = {}) {
        self.store = store
        self.registry = registry
        self.settings = settings
        self.metrics = metrics
        self.tokens = TokenCache(ttlSeconds: settings.tokenCacheSeconds)
        self.notify = notify
        self.results = ResultFiles()
    }

    public func buildRouter() -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: OriginMiddleware(allowed: settings.corsOrigins))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: AuthMiddleware(store: store, cache: tokens))

        router.get("/health") { _, _ in try await self.health() }
        router.get("/metrics") { _, _ in
            let bytes = try await self.metrics.render(store: self.store)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        router.post("/api/v1/jobs") { request, context in try await self.createJob(request, context) }
        router.get("/api/v1/jobs") { request, context in try await self.listJobs(request, context) }
        router.get("/api/v1/jobs/:id") { request, context in try await self.getJob(request, context) }
        router.delete("/api/v1/jobs/:id") { request, context in try await self.cancelJob(request, context) }
        router.get("/api/v1/jobs/:id/script") { request, context in try await self.script(request, context) }
        router.get("/api/v1/simulations/:id/status") { request, context in try await self.status(request, context) }
        router.get("/api/v1/simulations/:id/results") { request, context in try await self.listResults(request, context) }
        router.get("/api/v1/simulations/:id/results/**") { request, context in try await self.downloadResult(request, context) }
        router.get("/api/v1/simulations/:id/logs") { request, context in try await self.logs(request, context) }
        router.post("/api/v1/uploads") { request, context in try await self.createUpload(request, context) }
        router.get("/api/v1/uploads") { request, context in try await self.listUploads(request, context) }
        router.get("/api/v1/uploads/:id") { request, context in try await self.getUpload(request, context) }
        router.post("/api/v1/sweeps") { request, context in try await self.createSweep(request, context) }
        router.get("/api/v1/sweeps") { request, context in try await self.listSweeps(request, context) }
        router.get("/api/v1/sweeps/:id") { request, context in try await self.getSweep(request, context) }
        router.delete("/api/v1/sweeps/:id") { request, context in try await self.cancelSweep(request, context) }
        router.get("/api/v1/events") { request, context in try await self.events(request, context) }
        router.get("/api/v1/jobs/:id/parameter-file") { request, context in try await self.jobParameterFile(request, context) }
        router.get("/api/v1/simulations/:id/plots/power-spectrum.svg") { request, context in try await self.powerSpectrumPlot(request, context) }
        router.get("/api/v1/simulations/:id/plots/mass-function.svg") { request, context in try await self.massFunctionPlot(request, context) }
        router.get("/api/v1/simulations/:id/plots/density.png") { request, context in try await self.densityImage(request, context) }
        addDashboard(to: router)
        return router
    }

    /// A Hummingbird application serving this API (with extra services, e.g. the sync loops).
    public func buildApplication(host: String, port: Int, services: [any Service] = [], logger: Logger)
        -> some ApplicationProtocol {
        Application(router: buildRouter(), configuration: .init(address: .hostname(host, port: port), serverName: "g4api"),
                    services: services, logger: logger)
    }

    func health() async throws -> Response {
        do {
            try await store.ping()
            return json(.ok) { w in w.beginObject(); w.field("status", "ok"); w.field("store", "ok"); w.endObject() }
        } catch {
            return json(.serviceUnavailable) { w in
                w.beginObject(); w.field("status", "unavailable"); w.field("store", "\(error)"); w.endObject()
            }
        }
    }

    func json(_ status: HTTPResponse.Status, headers: HTTPFields = [:], capacity: Int = 4096,
              _ write: (inout JSONWriter) -> Void) -> Response {
        var w = JSONWriter(capacity: capacity)
        write(&w)
        var h = headers
        h[.contentType] = "application/json"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(bytes: w.bytes)))
    }
}
