import Foundation
import Jobs
import Mustache
import RunContract

/// Renders the sbatch script of one attempt from the site's template
/// (templates/slurm/g4sim.sbatch.mustache). Only validated values reach the
/// template (see templates/README.md): the job's name only as a sanitised
/// `--job-name`, its description never.
public struct BatchScript: Sendable {
    let template: MustacheTemplate

    public init(templatePath: String) throws {
        guard let text = try? String(contentsOfFile: templatePath, encoding: .utf8) else {
            throw SiteConfigurationError("cannot read the Slurm template \(templatePath)")
        }
        do {
            template = try MustacheTemplate(string: text)
        } catch {
            throw SiteConfigurationError("the Slurm template \(templatePath) does not parse: \(error)")
        }
    }

    /// The script for `plan`'s attempt of `job`, run in `directory`.
    public func render(_ job: Job, plan: AttemptPlan, site: SiteConfiguration, directory: String, g4sim: String) -> String {
        let limit = job.resources.wallClockLimit
        var launch: [String]
        switch site.launcher {
        case .srun: launch = ["srun", "--mpi=\(site.mpi)", Self.shellQuoted(g4sim)]
        case .mpirun: launch = ["mpirun", "-np", String(job.resources.ranks), Self.shellQuoted(g4sim)]
        }
        launch += ["run", RunLayout.parameterFile]
        if plan.resume { launch.append("--restart") }
        var values: [String: Any] = [
            "jobName": Self.jobName(job.name),
            "comment": Self.comment(jobID: job.id, attempt: plan.number),
            "jobID": job.id,
            "attempt": plan.number,
            "ranks": job.resources.ranks,
            "nodes": job.resources.nodes,
            "memoryMB": plan.memoryMB,
            "timeLimit": Self.timeLimit(seconds: limit),
            "signalLead": Self.signalLead(limit: limit, site: site),
            "directory": directory,
            "directives": site.directives,
            "setup": site.setup,
            "modules": site.modules,
            "launch": launch.joined(separator: " "),
        ]
        if let p = job.placement.partition ?? site.partition { values["partition"] = p }
        if let a = job.placement.account ?? site.account { values["account"] = a }
        if let q = job.placement.qos ?? site.qos { values["qos"] = q }
        if let c = site.constraint { values["constraint"] = c }
        return template.render(values)
    }

    /// How g4 recognises its jobs in squeue and sacct: `g4:<job id>:<attempt>`.
    public static func comment(jobID: String, attempt: Int) -> String { "g4:\(jobID):\(attempt)" }

    /// `g4-` and the name with everything outside `[A-Za-z0-9._-]` replaced by `_`, at most 64 characters.
    public static func jobName(_ name: String) -> String {
        let safe = name.unicodeScalars.map { u -> Character in
            u.isASCII && (CharacterSet.alphanumerics.contains(u) || "._-".unicodeScalars.contains(u)) ? Character(u) : "_"
        }
        return "g4-" + String(safe.prefix(61))
    }

    /// Slurm counts time limits in minutes: the limit rounded up, as `D-HH:MM:SS`.
    public static func timeLimit(seconds: Int) -> String {
        let minutes = (seconds + 59) / 60
        let days = minutes / 1440, hours = (minutes % 1440) / 60, mins = minutes % 60
        return String(format: "%d-%02d:%02d:00", days, hours, mins)
    }

    /// The site's lead, at most a third of the limit (so a short job is not told to stop as it starts).
    static func signalLead(limit: Int, site: SiteConfiguration) -> Int {
        max(10, min(site.signalLeadSeconds, limit / 3))
    }

    /// `'...'` with embedded single quotes closed and escaped.
    public static func shellQuoted(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Whether a path can go into `#SBATCH` lines and the script as it is.
    public static func isPlainPath(_ path: String) -> Bool {
        !path.isEmpty && path.hasPrefix("/") && path.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "/._+-".contains($0)) }
    }
}
