import ArgumentParser
import Foundation

struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Parameter sweeps: one request, one job per point, handled as a group.",
        discussion: """
            A sweep file is JSON as POST /api/v1/sweeps takes it, e.g.
              {"name": "sigma8 scan", "base": {"num_particles": 32768},
               "vary": {"Sigma8": {"from": 0.7, "to": 0.9, "steps": 5}, "Seed": [1, 2]}}
            """,
        subcommands: [SubmitSweep.self, ListSweeps.self, SweepStatus.self, CancelSweep.self])

    static func counts(_ s: Components.Schemas.Sweep) -> String {
        let phases = ["queued", "submitted", "running", "requeued", "completed", "failed", "timed_out", "cancelled"]
        let counts = s.counts.additionalProperties
        return phases.compactMap { p in counts[p].map { "\(p) \($0)" } }.joined(separator: ", ")
    }

    static func summary(_ s: Components.Schemas.Sweep) -> String {
        "\(s.id)  \(s.name)  \(s.points) points  \(s.state.rawValue)  \(String(format: "%.1f %%", s.progress))  \(counts(s))"
    }

    struct SubmitSweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "submit", abstract: "Submit a sweep file.")
        @Argument(help: "sweep.json") var file: String
        @Flag(help: "Follow the sweep to its end.") var follow = false
        @Flag(help: "Print the sweep as JSON.") var json = false

        func run() async throws {
            try await perform {
                let c = try Connection.load()
                guard let data = FileManager.default.contents(atPath: file) else { throw CLIError(.usage, "cannot read \(file)") }
                let request: Components.Schemas.SweepRequest
                do { request = try JSONDecoder().decode(Components.Schemas.SweepRequest.self, from: data) } catch {
                    throw CLIError(.usage, "\(file) is not a sweep request: \(error)")
                }
                let sweep = try await c.call("sweep") { try await c.client.createSweep(body: .json(request)) }.created.body.json
                if json { try printJSON(sweep) } else { say("submitted sweep " + summary(sweep)) }
                if follow { try await SweepStatus.follow(c, id: sweep.id) }
            }
        }
    }

    struct ListSweeps: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Your sweeps, newest first.")
        @Flag(help: "Print the API's JSON.") var json = false

        func run() async throws {
            try await perform {
                let c = try Connection.load()
                let list = try await c.call("sweeps") { try await c.client.listSweeps() }.ok.body.json
                if json { try printJSON(list); return }
                for s in list.sweeps { say(summary(s)) }
            }
        }
    }

    struct SweepStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "A sweep's points and their states.")
        @Argument(help: "The sweep id.") var id: String
        @Flag(help: "Print a line whenever the counts change, until every point ended.") var follow = false
        @Flag(help: "Print the API's JSON.") var json = false

        func run() async throws {
            try await perform {
                let c = try Connection.load()
                if follow { try await Self.follow(c, id: id); return }
                let sweep = try await c.call("sweep") { try await c.client.getSweep(path: .init(id: id)) }.ok.body.json
                if json { try printJSON(sweep); return }
                say(summary(sweep))
                var rows = [["ID", "NAME", "PHASE", "PROGRESS"]]
                for j in sweep.jobs ?? [] { rows.append([j.id, j.name, j.phase.rawValue, String(format: "%.1f %%", j.progress ?? 0)]) }
                say(table(rows))
            }
        }

        /// Prints the counts as they change; exits 2 when a point did not complete.
        static func follow(_ c: Connection, id: String) async throws {
            var last = ""
            while true {
                let sweep = try await c.call("sweep") { try await c.client.getSweep(path: .init(id: id)) }.ok.body.json
                let line = summary(sweep)
                if line != last { say(line); last = line }
                if sweep.state == .ended {
                    let done = sweep.counts.additionalProperties["completed"] ?? 0
                    if done != sweep.points { throw CLIError(.jobFailed, "sweep \(id): \(done) of \(sweep.points) points completed") }
                    return
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    struct CancelSweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel every point that has not ended.")
        @Argument(help: "The sweep id.") var id: String

        func run() async throws {
            try await perform {
                let c = try Connection.load()
                let sweep = try await c.call("cancel") { try await c.client.cancelSweep(path: .init(id: id)) }.accepted.body.json
                say(summary(sweep))
            }
        }
    }
}
