import Foundation
import Jobs
import Logging

/// swift-log handler writing one JSON object per line to standard error,
/// for log collectors.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    private static let lock = NSLock()

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
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
