import Foundation
import Hummingbird
import JobStore
import Jobs
import Prometheus

/// Numbers another part of the process contributes to /metrics at each
/// scrape (the in-process sync loops: passes, their duration, commands).
public struct MetricSample: Sendable {
    public var name: String
    public var labels: [(String, String)]
    public var value: Double
    public var help: String
    public init(name: String, labels: [(String, String)], value: Double, help: String) {
        self.name = name
        self.labels = labels
        self.value = value
        self.help = help
    }
}

/// The service's Prometheus metrics: requests and latencies per route,
/// jobs by state and the queue depth (refreshed from the store at scrape),
/// and whatever `extraSamples` returns.
public final class APIMetrics: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let lock = NSLock()
    private var counters: [String: Counter] = [:]
    private var histograms: [String: DurationHistogram] = [:]
    private let jobGauges: [JobState: Gauge]
    private let queueDepth: Gauge
    /// Bytes of result files sent (whole files and ranges), to show what a resumed download re-fetched.
    let resultBytes: Counter
    private var extraGauges: [String: Gauge] = [:]
    /// Called at each scrape.
    public var extraSamples: @Sendable () -> [MetricSample] = { [] }
    private static let buckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var gauges: [JobState: Gauge] = [:]
        for s in JobState.allCases {
            gauges[s] = registry.makeGauge(name: "g4_jobs", labels: [("state", s.rawValue)], help: "Jobs in the store by state")
        }
        jobGauges = gauges
        queueDepth = registry.makeGauge(name: "g4_queue_depth", help: "Jobs waiting for a backend (queued or requeued)")
        resultBytes = registry.makeCounter(name: "g4_result_bytes_sent_total", help: "Bytes of result files sent (whole or ranges)")
    }

    func record(method: String, route: String, status: Int, nanoseconds: Int64) {
        let key = "\(method) \(route) \(status)"
        let hkey = "\(method) \(route)"
        let (counter, histogram) = lock.withLock { () -> (Counter, DurationHistogram) in
            let c = counters[key] ?? {
                let c = registry.makeCounter(name: "g4_http_requests_total",
                                             labels: [("method", method), ("route", route), ("status", String(status))],
                                             help: "HTTP requests answered")
                counters[key] = c
                return c
            }()
            let h = histograms[hkey] ?? {
                let h = registry.makeDurationHistogram(name: "g4_http_request_duration_seconds",
                                                       labels: [("method", method), ("route", route)], buckets: Self.buckets,
                                                       help: "Time to answer, until the response head")
                histograms[hkey] = h
                return h
            }()
            return (c, h)
        }
        counter.increment()
        histogram.recordNanoseconds(nanoseconds)
    }

    /// Refreshes the job gauges from the store, then renders everything.
    func render(store: any JobRepository) async throws -> [UInt8] {
        let counts = try await store.countsByState()
        for (state, gauge) in jobGauges { gauge.set(Double(counts[state] ?? 0)) }
        queueDepth.set(Double((counts[.queued] ?? 0) + (counts[.requeued] ?? 0)))
        for sample in extraSamples() {
            let key = sample.name + sample.labels.map { "\($0.0)=\($0.1)" }.joined(separator: ",")
            let gauge = lock.withLock { () -> Gauge in
                if let g = extraGauges[key] { return g }
                let g = registry.makeGauge(name: sample.name, labels: sample.labels, help: sample.help)
                extraGauges[key] = g
                return g
            }
            gauge.set(sample.value)
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: APIMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        func done(_ status: Int) {
            let route = context.endpointPath ?? "unmatched"
            metrics.record(method: request.method.rawValue, route: route, status: status,
                           nanoseconds: Int64(DispatchTime.now().uptimeNanoseconds - start))
        }
        do {
            let response = try await next(request, context)
            done(Int(response.status.code))
            return response
        } catch let error as any HTTPResponseError {
            done(Int(error.status.code))
            throw error
        } catch {
            done(500)
            throw error
        }
    }
}
