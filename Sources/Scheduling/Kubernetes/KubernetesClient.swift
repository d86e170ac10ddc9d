import Foundation

/// The few Kubernetes API calls the backend makes, in its namespace: a thin
/// transport with one live implementation (`KubernetesAPI`, HTTPS) so that
/// the backend's decisions can be read without HTTP in the way.
public protocol KubernetesClient: Sendable {
    var namespace: String { get }
    /// POST a batch/v1 Job (JSON). `.alreadyExists` when a Job of that name exists.
    func createJob(_ manifest: Data) async throws(KubernetesError)
    /// Every Job and every Pod matching a label selector: one list call each.
    func jobs(labelSelector: String) async throws(KubernetesError) -> [KubeJob]
    func pods(labelSelector: String) async throws(KubernetesError) -> [KubePod]
    /// DELETE with `propagationPolicy: Background` (its pods go too); a Job already gone is not an error.
    func deleteJob(named name: String) async throws(KubernetesError)
    /// The last lines a pod's container wrote (for the reason of a failure).
    func podLog(named name: String, container: String, tailLines: Int) async throws(KubernetesError) -> String
}

public enum KubernetesError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No answer, a TLS failure, a 5xx or 429: try again later.
    case unavailable(String)
    /// 409 on create.
    case alreadyExists
    /// The API server refused the request (4xx): its Status message.
    case refused(status: Int, message: String)

    public var description: String {
        switch self {
        case .unavailable(let m): "Kubernetes API unavailable: \(m)"
        case .alreadyExists: "already exists"
        case .refused(let status, let m): "Kubernetes API refused the request (\(status)): \(m)"
        }
    }
}

/// The parts of a batch/v1 Job the backend reads.
public struct KubeJob: Sendable, Decodable, Equatable {
    public struct Metadata: Sendable, Decodable, Equatable {
        public var name: String
        public var labels: [String: String]?
    }
    public struct Status: Sendable, Decodable, Equatable {
        public var active: Int?
        public var succeeded: Int?
        public var failed: Int?
        public var conditions: [Condition]?
    }
    public struct Condition: Sendable, Decodable, Equatable {
        public var type: String
        public var status: String
        public var reason: String?
        public var message: String?
    }
    public var metadata: Metadata
    public var status: Status?

    /// The condition of `type` that is "True".
    public func condition(_ type: String) -> Condition? {
        status?.conditions?.first { $0.type == type && $0.status == "True" }
    }
}

/// The parts of a Pod the backend reads: its phase, the reason the kubelet
/// or the eviction API gave, and how the solver's container ended.
public struct KubePod: Sendable, Decodable, Equatable {
    public struct Metadata: Sendable, Decodable, Equatable {
        public var name: String
        public var labels: [String: String]?
        public var creationTimestamp: String?
    }
    public struct Status: Sendable, Decodable, Equatable {
        public var phase: String?
        public var reason: String?
        public var message: String?
        public var conditions: [Condition]?
        public var containerStatuses: [ContainerStatus]?
    }
    public struct Condition: Sendable, Decodable, Equatable {
        public var type: String
        public var status: String
        public var reason: String?
        public var message: String?
    }
    public struct ContainerStatus: Sendable, Decodable, Equatable {
        public var name: String
        public var state: ContainerState?
    }
    public struct ContainerState: Sendable, Decodable, Equatable {
        public var waiting: Waiting?
        public var terminated: Terminated?
    }
    public struct Waiting: Sendable, Decodable, Equatable {
        public var reason: String?
        public var message: String?
    }
    public struct Terminated: Sendable, Decodable, Equatable {
        public var exitCode: Int
        public var signal: Int?
        public var reason: String?
        public var message: String?
    }
    public var metadata: Metadata
    public var status: Status?

    public func container(_ name: String) -> ContainerStatus? {
        status?.containerStatuses?.first { $0.name == name }
    }
    public func condition(_ type: String) -> Condition? {
        status?.conditions?.first { $0.type == type && $0.status == "True" }
    }
}

struct KubeList<Item: Decodable>: Decodable {
    var items: [Item]
}

/// Stands in for the API client in a process that never talks to the API
/// (g4api with SYNC=none, which has no service-account token mounted):
/// every call is `unavailable` with the reason the credentials did not load.
public struct UnconfiguredKubernetes: KubernetesClient {
    public let namespace: String
    let reason: String
    public init(namespace: String, reason: String) {
        self.namespace = namespace
        self.reason = reason
    }
    public func createJob(_ manifest: Data) async throws(KubernetesError) { throw .unavailable(reason) }
    public func jobs(labelSelector: String) async throws(KubernetesError) -> [KubeJob] { throw .unavailable(reason) }
    public func pods(labelSelector: String) async throws(KubernetesError) -> [KubePod] { throw .unavailable(reason) }
    public func deleteJob(named name: String) async throws(KubernetesError) { throw .unavailable(reason) }
    public func podLog(named name: String, container: String, tailLines: Int) async throws(KubernetesError) -> String {
        throw .unavailable(reason)
    }
}
