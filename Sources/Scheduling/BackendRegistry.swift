import Jobs

/// The backends this service is configured with, and what `auto` means:
/// built once from configuration and shared by the API (which checks a job
/// against its backend before storing it) and the sync loops.
public struct BackendRegistry: Sendable {
    public let all: [any Backend]
    /// The backend `auto` (or no `backend` field) stands for.
    public let defaultKind: BackendKind

    public init(_ backends: [any Backend], defaultKind: BackendKind? = nil) {
        all = backends
        self.defaultKind = defaultKind ?? backends.first?.kind ?? .local
    }

    public var kinds: [BackendKind] { all.map(\.kind) }

    /// The backend for a request's `backend` field; nil when that backend is not configured here.
    public func backend(for requested: BackendKind) -> (any Backend)? {
        let kind = requested == .auto ? defaultKind : requested
        return all.first { $0.kind == kind }
    }
}
