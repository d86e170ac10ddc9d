import Foundation

/// A file a user uploaded for jobs to read, owned like jobs: stored once,
/// checked with g4sim's own readers before any job may name it.
public struct Upload: Sendable, Equatable {
    public var id: String
    public var owner: String
    public var kind: InputKind
    public var format: InitialConditionsFormat?
    /// The name the user gave it (shown only).
    public var fileName: String
    public var size: Int64
    public var sha256: String
    /// Where the service keeps it (absolute).
    public var path: String
    /// What the check read (particles, box size, time, or the list's times), as JSON.
    public var summaryJSON: String
    public var createdAt: Int64

    public init(id: String = UUID().uuidString.lowercased(), owner: String, kind: InputKind, format: InitialConditionsFormat?,
                fileName: String, size: Int64, sha256: String, path: String, summaryJSON: String, createdAt: Int64 = Clock.microseconds()) {
        self.id = id
        self.owner = owner
        self.kind = kind
        self.format = format
        self.fileName = fileName
        self.size = size
        self.sha256 = sha256
        self.path = path
        self.summaryJSON = summaryJSON
        self.createdAt = createdAt
    }

    public func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("id", id)
        w.field("owner", owner)
        w.field("kind", kind.rawValue)
        w.field("format", format?.rawValue)
        w.field("file_name", fileName)
        w.field("size", Int(size))
        w.field("sha256", sha256)
        w.key("summary"); w.raw(summaryJSON)
        w.timestampField("created_at", createdAt)
        w.endObject()
    }
}

/// A parameter sweep: one request, many jobs (its points), followed and
/// cancelled together. The jobs carry the sweep's id.
public struct Sweep: Sendable, Equatable {
    public var id: String
    public var owner: String
    public var name: String
    public var points: Int
    /// The `vary` object as requested (JSON).
    public var varyJSON: String
    public var createdAt: Int64

    public init(id: String = UUID().uuidString.lowercased(), owner: String, name: String, points: Int, varyJSON: String,
                createdAt: Int64 = Clock.microseconds()) {
        self.id = id
        self.owner = owner
        self.name = name
        self.points = points
        self.varyJSON = varyJSON
        self.createdAt = createdAt
    }
}
