import Foundation

/// Where the CLI talks to and as whom: the user's config file (written by
/// `g4 login`, mode 0600), with G4_URL and G4_TOKEN taking precedence.
struct Settings: Codable {
    var url: String
    var token: String

    /// G4_CONFIG, else $XDG_CONFIG_HOME/g4/config.json, else ~/.config/g4/config.json.
    static var file: URL {
        let env = ProcessInfo.processInfo.environment
        if let path = env["G4_CONFIG"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let base = env["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config")
        return base.appendingPathComponent("g4/config.json")
    }

    static func load() throws -> Settings {
        let env = ProcessInfo.processInfo.environment
        var stored: Settings?
        if let data = FileManager.default.contents(atPath: file.path) { stored = try? JSONDecoder().decode(Settings.self, from: data) }
        let url = env["G4_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? stored?.url
        let token = env["G4_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } ?? stored?.token
        guard let url, let token else {
            throw CLIError(.usage, "not logged in: run `g4 login URL` (or set G4_URL and G4_TOKEN)")
        }
        return Settings(url: url, token: token)
    }

    /// Writes the file readable by its owner only (it holds a token).
    func save() throws {
        let file = Self.file
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        let temporary = file.path + ".tmp"
        let fd = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError(.usage, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard rename(temporary, file.path) == 0 else { throw CLIError(.usage, "cannot write \(file.path)") }
    }
}

/// The CLI's exit codes (README "g4"): scripts can tell these apart.
enum ExitStatus: Int32 {
    case ok = 0
    /// The job (or a point of the sweep) failed, timed out or was cancelled.
    case jobFailed = 2
    /// No such job, sweep or upload (or not yours).
    case notFound = 3
    /// No token, or the server refused it.
    case auth = 4
    /// The server failed (5xx) or could not be reached.
    case server = 5
    /// The server refused the request as invalid (400, 409, 413, 415, 422): the message says why.
    case refused = 6
    /// Wrong use of the command line, or a local file that cannot be read.
    case usage = 64
}

struct CLIError: Error, CustomStringConvertible {
    let status: ExitStatus
    let message: String
    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }
    var description: String { message }

    /// The exit status for an HTTP status the server answered with.
    static func forHTTP(_ code: Int, _ message: String) -> CLIError {
        switch code {
        case 401, 403: CLIError(.auth, message)
        case 404: CLIError(.notFound, message)
        case 500...: CLIError(.server, message)
        default: CLIError(.refused, message)
        }
    }
}
