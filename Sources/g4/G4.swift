import ArgumentParser
import Foundation
import OpenAPIRuntime

/// `g4`: submit and follow simulations on a g4api server from a login node,
/// like sbatch and squeue. Its HTTP layer is generated from the server's own
/// OpenAPI document (Sources/g4/Generated, scripts/generate-client.sh).
@main
struct G4: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "g4",
        abstract: "Submit and follow GADGET-4-class simulations on a g4api server.",
        discussion: """
            Log in once with `g4 login URL` (URL and token go to ~/.config/g4/config.json, mode 0600;
            G4_URL and G4_TOKEN override it, G4_CONFIG names another file). --json prints what the API
            answered, for scripts. Shell completions: g4 --generate-completion-script bash|zsh|fish.

            Exit codes: 0 ok; 2 the job (or a point of the sweep) failed, timed out or was cancelled;
            3 not found; 4 no token or token refused; 5 server error or server unreachable;
            6 request refused as invalid (the message names the field); 64 wrong use of the command.
            """,
        subcommands: [Login.self, Submit.self, SweepCommand.self, List.self, Status.self, Watch.self, Logs.self,
                      Results.self, Cancel.self])
}

/// Runs a command's body, printing a CLIError and exiting with its status.
func perform(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        complain("g4: \(error.message)")
        throw ExitCode(error.status.rawValue)
    } catch let error as ClientError {
        if let inner = error.underlyingError as? CLIError {
            complain("g4: \(inner.message)")
            throw ExitCode(inner.status.rawValue)
        }
        complain("g4: cannot reach the server: \(error.underlyingError)")
        throw ExitCode(ExitStatus.server.rawValue)
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Store the server's URL and your token (checked first).")

    @Argument(help: "The server, e.g. http://login1:8000.") var url: String
    @Option(help: "The API token (default: read from standard input; `g4api token create --user NAME` makes one).")
    var token: String?

    func run() async throws {
        try await perform {
            var t = token
            if t == nil {
                complain("token: ")
                t = readLine(strippingNewline: true)
            }
            guard let t, !t.isEmpty else { throw CLIError(.usage, "no token given") }
            let settings = Settings(url: url.hasSuffix("/") ? String(url.dropLast()) : url, token: t)
            let connection = try Connection(settings)
            _ = try await connection.call("checking the token") { try await connection.client.listJobs(query: .init(limit: 1)) }.ok
            try settings.save()
            say("logged in to \(settings.url); settings in \(Settings.file.path)")
        }
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a job (its outputs so far are kept).")
    @Argument(help: "The job id.") var id: String
    @Flag(help: "Print the job as JSON.") var json = false

    func run() async throws {
        try await perform {
            let c = try Connection.load()
            let job = try await c.call("cancel") { try await c.client.cancelJob(path: .init(id: id)) }.accepted.body.json
            if json { try printJSON(job) } else { say("\(job.id) \(job.phase.rawValue)\(job.cancelRequested == true ? " (cancel requested)" : "")") }
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List your jobs, newest first.")
    @Option(help: "Only these statuses or phases (comma-separated, e.g. running,queued).") var status: String?
    @Option(help: "At most this many.") var limit: Int = 20
    @Flag(help: "Print the API's JSON.") var json = false

    func run() async throws {
        try await perform {
            let c = try Connection.load()
            let page = try await c.call("list") { try await c.client.listJobs(query: .init(status: status, limit: limit)) }.ok.body.json
            if json { try printJSON(page); return }
            var rows = [["ID", "NAME", "PHASE", "PROGRESS", "BACKEND", "CREATED"]]
            for j in page.jobs {
                rows.append([j.id, j.name, j.phase.rawValue, String(format: "%.1f %%", j.progress ?? 0), j.backend?.rawValue ?? "",
                             j.createdAt.formatted(.iso8601)])
            }
            say(table(rows))
            if page.total > page.jobs.count { say("(\(page.jobs.count) of \(page.total); --limit shows more)") }
        }
    }
}

/// Columns padded to their widest cell.
func table(_ rows: [[String]]) -> String {
    guard let first = rows.first else { return "" }
    let widths = (0..<first.count).map { c in rows.map { $0[c].count }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
    }.joined(separator: "\n")
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A job's state and progress.")
    @Argument(help: "The job id.") var id: String
    @Flag(help: "Print the API's JSON.") var json = false

    func run() async throws {
        try await perform {
            let c = try Connection.load()
            let s = try await c.call("status") { try await c.client.getStatus(path: .init(id: id)) }.ok.body.json
            if json { try printJSON(s); return }
            say("\(s.id)  \(ProgressDisplay.line(s))")
            if let message = s.errorMessage { say(message) }
        }
    }
}

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow a job to its end: a progress bar on a terminal, a line per change otherwise.")
    @Argument(help: "The job id.") var id: String
    @Option(help: "Seconds between looks.") var interval: Double = 1

    func run() async throws {
        try await perform {
            let c = try Connection.load()
            try await ProgressDisplay.follow(c, id: id, interval: interval)
        }
    }
}

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The solver's output (or --stderr).")
    @Argument(help: "The job id.") var id: String
    @Flag(name: .shortAndLong, help: "Keep printing new lines until the job ends.") var follow = false
    @Option(help: "The last N lines.") var tail: Int = 100
    @Flag(help: "Standard error instead of standard output.") var stderr = false

    func run() async throws {
        try await perform {
            let c = try Connection.load()
            let output = try await c.call("logs") {
                try await c.client.getLogs(path: .init(id: id), query: .init(tail: tail, stream: stderr ? .stderr : .stdout, follow: follow))
            }
            switch try output.ok.body {
            case .json(let logs):
                for line in logs.lines { say(line) }
            case .textEventStream(let body):
                var pending = ""
                var event = ""
                for try await chunk in body {
                    pending += String(decoding: chunk, as: UTF8.self)
                    while let newline = pending.firstIndex(of: "\n") {
                        let line = String(pending[..<newline])
                        pending = String(pending[pending.index(after: newline)...])
                        if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) } else if line.hasPrefix("data: ") {
                            if event == "end" { return }
                            say(String(line.dropFirst(6)))
                        } else if line.isEmpty { event = "" }
                    }
                }
            }
        }
    }
}
