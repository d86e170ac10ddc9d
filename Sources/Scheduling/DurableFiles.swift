import Foundation

/// Files written so that a crash never leaves half of one behind.
enum Durable {
    static func write(_ text: String, to url: URL) throws {
        let tmp = url.deletingLastPathComponent().appendingPathComponent("." + url.lastPathComponent + ".tmp")
        try Data(text.utf8).write(to: tmp)
        let fd = open(tmp.path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(tmp.path, url.path) == 0 else { throw BackendError("cannot write \(url.path)") }
    }
}
