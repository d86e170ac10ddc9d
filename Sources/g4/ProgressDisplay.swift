import Foundation

/// A job's progress as people read it: a bar redrawn in place on a terminal
/// (percent, redshift, ETA, particles per second), or one plain line per
/// change when the output goes to a file or a pipe.
enum ProgressDisplay {
    static var onTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    static func line(_ s: Components.Schemas.Status) -> String {
        var parts = [s.phase.padding(toLength: 9, withPad: " ", startingAt: 0), String(format: "%5.1f %%", s.progress)]
        if let z = s.redshift { parts.append(String(format: "z = %.2f", abs(z) < 0.005 ? 0 : z)) }
        if let eta = s.etaSeconds { parts.append("ETA " + duration(eta)) }
        if let rate = s.particlesPerSecond { parts.append(String(format: "%.3g particles/s", rate)) }
        return parts.joined(separator: "  ")
    }

    static func bar(_ percent: Double, width: Int = 30) -> String {
        let filled = Int((min(100, max(0, percent)) / 100 * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        if s >= 60 { return "\(s / 60) min \(s % 60) s" }
        return "\(s) s"
    }

    static let terminal: Set<String> = ["completed", "failed", "cancelled", "timed_out"]

    /// Polls the job's status until it ends; throws `jobFailed` unless it completed.
    static func follow(_ c: Connection, id: String, interval: Double) async throws {
        var last = ""
        let tty = onTerminal
        while true {
            let s = try await c.call("status") { try await c.client.getStatus(path: .init(id: id)) }.ok.body.json
            if tty {
                // Carriage return and erase-line: the bar is redrawn in place.
                let text = "\r\u{1B}[K" + bar(s.progress) + " " + line(s)
                FileHandle.standardOutput.write(Data(text.utf8))
            } else {
                let shown = "\(s.phase) \(String(format: "%.1f", s.progress))"
                if shown != last { say(line(s)); last = shown }
            }
            if terminal.contains(s.phase) {
                if tty { FileHandle.standardOutput.write(Data("\n".utf8)) }
                if s.phase != "completed" {
                    throw CLIError(.jobFailed, "job \(id) \(s.phase)\(s.errorMessage.map { ": \($0)" } ?? "")")
                }
                return
            }
            try await Task.sleep(for: .seconds(interval))
        }
    }
}
