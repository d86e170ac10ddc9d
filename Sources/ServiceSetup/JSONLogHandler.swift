import Foundation
import Jobs
import Logging

/// swift-log handler writing one JSON object per line to standard error,
/// for log collectors.
public struct JSONLogHandler: LogHandler {
    let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private static let lock = NSLock()

    public init(label: String) { self.label = label }

    /// Makes this the process's log handler (once per process) and returns a logger labelled `label`.
    public static func bootstrap(label: String, level: Logger.Level) -> Logger {
        LoggingSystem.bootstrap { name in
            var h = JSONLogHandler(label: name)
            h.logLevel = level
            return h
        }
        return Logger(label: label)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.field("ts", Clock.iso8601(Clock.microseconds()))
        w.field("level", event.level.rawValue)
        w.field("logger", label)
        w.field("message", "\(event.message)")
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        for (k, v) in all.sorted(by: { $0.key < $1.key }) { w.key(escaping: k); w.string("\(v)") }
        w.endObject()
        w.bytes.append(0x0A)
        let data = Data(w.bytes)
        Self.lock.withLock { FileHandle.standardError.write(data) }
    }
}
