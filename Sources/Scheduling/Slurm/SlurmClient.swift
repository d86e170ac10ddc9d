import Foundation

/// How the Slurm backend talks to a cluster: a thin transport with one call
/// per question, so that the command-line client here can be joined by
/// libslurm or slurmrestd without touching the backend.
public protocol SlurmClient: Sendable {
    /// The longest one call may take.
    var timeLimitSeconds: Double { get }
    /// `sbatch --parsable SCRIPT`: the new job's id.
    func submit(scriptAt path: String) async throws(SubmitError) -> String
    /// Every job of `user` that slurmctld still holds (pending, running, and
    /// ended within MinJobAge). Throws when slurmctld does not answer.
    func queue(user: String) async throws -> [SlurmQueueEntry]
    /// Accounting rows (allocation and steps) of these jobs, from slurmdbd,
    /// for jobs submitted since `since`. Throws when slurmdbd does not answer.
    func accounting(jobIDs: [String], since: Date) async throws -> [SlurmAccountingEntry]
    /// The id of a job with this comment submitted since `since`, from slurmdbd (nil: none).
    func findJob(comment: String, since: Date) async throws -> String?
    /// `scancel JOBID`; a job that already ended is not an error.
    func cancel(jobID: String) async throws
    /// The user's associations: which accounts, partitions and QoS it may use.
    func associations(user: String) async throws -> [SlurmAssociation]
    /// The cluster's partitions and their states.
    func partitions() async throws -> [SlurmPartition]
}

/// A line of `squeue`.
public struct SlurmQueueEntry: Sendable, Equatable {
    public var jobID: String
    public var state: String
    public var reason: String
    public var comment: String
    public init(jobID: String, state: String, reason: String, comment: String) {
        self.jobID = jobID
        self.state = state
        self.reason = reason
        self.comment = comment
    }
}

/// A line of `sacct --parsable2`: the allocation (`jobID` without a dot) or one of its steps.
public struct SlurmAccountingEntry: Sendable, Equatable {
    public var jobID: String
    public var state: String
    public var exitCode: String
    public var elapsed: String
    public var totalCPU: String
    public var maxRSS: String
    public var nodeList: String
    public var start: String
    public var end: String
    public var comment: String

    public init(jobID: String, state: String, exitCode: String, elapsed: String, totalCPU: String, maxRSS: String,
                nodeList: String, start: String, end: String, comment: String) {
        self.jobID = jobID
        self.state = state
        self.exitCode = exitCode
        self.elapsed = elapsed
        self.totalCPU = totalCPU
        self.maxRSS = maxRSS
        self.nodeList = nodeList
        self.start = start
        self.end = end
        self.comment = comment
    }

    /// The allocation's id (`1234` for `1234.batch`).
    public var allocationID: String { String(jobID.prefix { $0 != "." }) }
    /// `""` for the allocation, else the step (`batch`, `extern`, `0`).
    public var step: String { jobID.contains(".") ? String(jobID.drop { $0 != "." }.dropFirst()) : "" }
}

public struct SlurmAssociation: Sendable, Equatable {
    public var account: String
    /// Empty: every partition.
    public var partition: String
    public var qos: [String]
}

public struct SlurmPartition: Sendable, Equatable {
    public var name: String
    /// `up`, `down`, `drain`, `inactive`.
    public var state: String
}

public struct SlurmCommandError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// The command-line transport: sbatch, squeue, sacct, scancel, sacctmgr and
/// sinfo, each run with an argument vector and a time limit, with
/// SLURM_CONF set. Output is parsed from `--parsable2`-style fixed formats.
public struct SlurmCommandLine: SlurmClient {
    public var binDirectory: String?
    public var runner: CommandRunner

    public init(conf: String?, binDirectory: String?, timeout: Duration) {
        var env: [String: String] = [:]
        if let conf { env["SLURM_CONF"] = conf }
        runner = CommandRunner(environment: env, timeout: timeout)
        self.binDirectory = binDirectory
    }

    public var timeLimitSeconds: Double { Double(runner.timeout.components.seconds) }

    func tool(_ name: String) -> String { binDirectory.map { $0 + "/" + name } ?? name }

    func run(_ name: String, _ arguments: [String]) async throws -> CommandRunner.Result {
        try await runner.run([tool(name)] + arguments)
    }

    public func submit(scriptAt path: String) async throws(SubmitError) -> String {
        let result: CommandRunner.Result
        do {
            result = try await run("sbatch", ["--parsable", path])
        } catch {
            throw .unavailable("sbatch could not be run: \(error)")
        }
        if result.timedOut {
            throw .unavailable("sbatch did not answer within \(runner.timeout) (the job may still have been queued)")
        }
        guard result.status == 0 else { throw SlurmMessages.submissionError(result.stderr) }
        // `--parsable` prints `jobid` or `jobid;cluster`.
        let id = result.stdout.split(whereSeparator: \.isNewline).last.map { String($0.prefix { $0 != ";" }) } ?? ""
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw .unavailable("sbatch printed no job id: \(result.stdout.prefix(200)) \(result.stderr.prefix(200))")
        }
        return id
    }

    public func queue(user: String) async throws -> [SlurmQueueEntry] {
        let result = try await run("squeue", ["--noheader", "--states=all", "--user=\(user)", "--format=%i|%T|%r|%k"])
        guard result.succeeded else { throw SlurmCommandError(description: "squeue: \(Self.reason(result))") }
        return result.stdout.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard f.count == 4 else { return nil }
            return SlurmQueueEntry(jobID: f[0], state: f[1], reason: f[2], comment: f[3] == "(null)" ? "" : f[3])
        }
    }

    static let accountingFields = "JobIDRaw,State,ExitCode,Elapsed,TotalCPU,MaxRSS,NodeList,Start,End,Comment"

    public func accounting(jobIDs: [String], since: Date) async throws -> [SlurmAccountingEntry] {
        guard !jobIDs.isEmpty else { return [] }
        let result = try await run("sacct", ["--allusers", "--noheader", "--parsable2", "--starttime=\(Self.slurmTime(since))",
                                             "--jobs=\(jobIDs.joined(separator: ","))", "--format=\(Self.accountingFields)"])
        guard result.succeeded else { throw SlurmCommandError(description: "sacct: \(Self.reason(result))") }
        return result.stdout.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 10 else { return nil }
            return SlurmAccountingEntry(jobID: f[0], state: f[1], exitCode: f[2], elapsed: f[3], totalCPU: f[4], maxRSS: f[5],
                                        nodeList: f[6], start: f[7], end: f[8], comment: f[9...].joined(separator: "|"))
        }
    }

    public func findJob(comment: String, since: Date) async throws -> String? {
        let result = try await run("sacct", ["--allusers", "--noheader", "--parsable2", "--allocations",
                                             "--starttime=\(Self.slurmTime(since))", "--format=JobIDRaw,Comment"])
        guard result.succeeded else { throw SlurmCommandError(description: "sacct: \(Self.reason(result))") }
        for line in result.stdout.split(whereSeparator: \.isNewline) {
            let f = line.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            if f.count == 2, f[1] == comment { return String(f[0]) }
        }
        return nil
    }

    public func cancel(jobID: String) async throws {
        let result = try await run("scancel", [jobID])
        // scancel of a job that already ended only warns.
        guard result.succeeded || result.stderr.contains("already completing or completed") || result.stderr.contains("Invalid job id")
        else { throw SlurmCommandError(description: "scancel \(jobID): \(Self.reason(result))") }
    }

    public func associations(user: String) async throws -> [SlurmAssociation] {
        let result = try await run("sacctmgr", ["--noheader", "--parsable2", "show", "associations", "where", "user=\(user)",
                                                "format=Account,Partition,QOS"])
        guard result.succeeded else { throw SlurmCommandError(description: "sacctmgr: \(Self.reason(result))") }
        return result.stdout.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 3 else { return nil }
            return SlurmAssociation(account: f[0], partition: f[1], qos: f[2].split(separator: ",").map(String.init))
        }
    }

    public func partitions() async throws -> [SlurmPartition] {
        let result = try await run("sinfo", ["--noheader", "--format=%R|%a"])
        guard result.succeeded else { throw SlurmCommandError(description: "sinfo: \(Self.reason(result))") }
        var seen = Set<String>()
        return result.stdout.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: "|").map(String.init)
            guard f.count == 2, seen.insert(f[0]).inserted else { return nil }
            return SlurmPartition(name: f[0], state: f[1])
        }
    }

    static func reason(_ r: CommandRunner.Result) -> String {
        r.timedOut ? "no answer in time" : "exit \(r.status): \(r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).prefix(500))"
    }

    /// Slurm's time format, in this machine's local time (as Slurm reads it).
    static func slurmTime(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
