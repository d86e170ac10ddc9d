import Foundation
import Jobs
import Scheduling
import Testing

/// What the Slurm backend reads and writes, without a cluster: the state
/// table, sbatch's complaints, sacct's numbers, and the rendered script.
/// (Everything against the real cluster is in SlurmClusterTests.)
struct SlurmParsingTests {
    static let table: [(String, String?, RunStatus)] = [
        ("PENDING", nil, .queued(reason: nil)),
        ("CONFIGURING", nil, .queued(reason: nil)),
        ("REQUEUED", nil, .queued(reason: nil)),
        ("REQUEUE_HOLD", nil, .queued(reason: nil)),
        ("RESV_DEL_HOLD", nil, .queued(reason: nil)),
        ("RUNNING", nil, .running),
        ("COMPLETING", nil, .running),
        ("SUSPENDED", nil, .running),
        ("COMPLETED", "0:0", .ended(RunEnding(.completed, exitCode: 0, detail: "COMPLETED"))),
        ("FAILED", "75:0", .ended(RunEnding(.resumeMe, exitCode: 75, detail: "FAILED with exit code 75 (restart files written)"))),
        ("FAILED", "1:0", .ended(RunEnding(.failed, exitCode: 1, detail: "FAILED with exit code 1"))),
        ("FAILED", "0:9", .ended(RunEnding(.failed, exitCode: 0, detail: "FAILED with signal 9"))),
        ("CANCELLED by 0", "0:15", .ended(RunEnding(.cancelled, exitCode: 0, detail: "CANCELLED by 0"))),
        ("TIMEOUT", "0:0", .ended(RunEnding(.timeLimit, exitCode: 0, detail: "TIMEOUT"))),
        ("OUT_OF_MEMORY", "0:125", .ended(RunEnding(.outOfMemory, exitCode: 0, detail: "OUT_OF_MEMORY"))),
        ("NODE_FAIL", "0:0", .ended(RunEnding(.nodeFailure, exitCode: 0, detail: "NODE_FAIL"))),
        ("PREEMPTED", "0:0", .ended(RunEnding(.preempted, exitCode: 0, detail: "PREEMPTED"))),
        ("BOOT_FAIL", "0:0", .ended(RunEnding(.bootFailure, exitCode: 0, detail: "BOOT_FAIL"))),
        ("DEADLINE", "0:0", .ended(RunEnding(.deadline, exitCode: 0, detail: "DEADLINE"))),
        ("SPECIAL_EXIT", "3:0", .ended(RunEnding(.failed, exitCode: 3, detail: "SPECIAL_EXIT"))),
        ("SOMETHING_NEW", nil, .unknown(reason: "Slurm state SOMETHING_NEW")),
    ]

    @Test func everySlurmStateMapsOntoARun() {
        for (state, exit, expected) in Self.table {
            #expect(SlurmStates.status(state: state, exitCode: exit) == expected, "\(state) \(exit ?? "")")
        }
        #expect(SlurmStates.status(state: "PENDING", exitCode: nil, reason: "Resources") == .queued(reason: "Resources"))
    }

    @Test func aStepKilledForItsMemoryIsAnOutOfMemoryEnding() {
        func row(_ id: String, _ state: String, _ exit: String, rss: String = "") -> SlurmAccountingEntry {
            SlurmAccountingEntry(jobID: id, state: state, exitCode: exit, elapsed: "", totalCPU: "", maxRSS: rss, nodeList: "n1",
                                 start: "", end: "", comment: "")
        }
        // cgroups: the step's own state.
        let cgroup = [row("7", "FAILED", "137:0"), row("7.batch", "FAILED", "137:0"), row("7.0", "OUT_OF_MEMORY", "0:125")]
        #expect(SlurmStates.status(accounting: cgroup, memoryMB: 100)
                == .ended(RunEnding(.outOfMemory, exitCode: 137, detail: "OUT_OF_MEMORY in step 0")))
        // Polling (OverMemoryKill), as sacct printed it on the test cluster: killed by 9, over its memory.
        let polled = [row("1", "FAILED", "9:0"), row("1.batch", "FAILED", "9:0", rss: "11744K"),
                      row("1.0", "CANCELLED by 0", "0:9", rss: "423072K")]
        #expect(SlurmStates.status(accounting: polled, memoryMB: 100)
                == .ended(RunEnding(.outOfMemory, exitCode: 9, detail: "step 0 killed at 413 MB per task, over its 100 MB")))
        // Killed by 9 within its memory: not a memory ending.
        #expect(SlurmStates.status(accounting: polled, memoryMB: 500)
                == .ended(RunEnding(.failed, exitCode: 9, detail: "FAILED with exit code 9")))
        let plain = [row("8", "FAILED", "1:0"), row("8.0", "FAILED", "1:0")]
        #expect(SlurmStates.status(accounting: plain, memoryMB: 100) == .ended(RunEnding(.failed, exitCode: 1, detail: "FAILED with exit code 1")))
        #expect(SlurmStates.status(accounting: [row("9.batch", "RUNNING", "0:0")], memoryMB: 100) == nil)
    }

    @Test func sbatchComplaintsAreSortedIntoRetryOrRefuse() {
        let cases: [(String, SubmitError)] = [
            ("sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)",
             .unavailable("sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)")),
            ("sbatch: error: Batch job submission failed: Socket timed out on send/recv operation",
             .unavailable("sbatch: error: Batch job submission failed: Socket timed out on send/recv operation")),
            ("sbatch: error: Batch job submission failed: Rate limit exceeded, please retry momentarily",
             .rateLimited("sbatch: error: Batch job submission failed: Rate limit exceeded, please retry momentarily")),
            ("sbatch: error: Batch job submission failed: Invalid partition name specified",
             .refused("Slurm refused the job: Batch job submission failed: Invalid partition name specified")),
            ("sbatch: error: Batch job submission failed: Requested node configuration is not available",
             .refused("Slurm refused the job: Batch job submission failed: Requested node configuration is not available")),
        ]
        for (stderr, expected) in cases { #expect(SlurmMessages.submissionError(stderr) == expected, "\(stderr)") }
    }

    @Test func sacctNumbers() {
        #expect(SlurmStates.seconds("00:01:05") == 65)
        #expect(SlurmStates.seconds("1-02:00:00") == 93_600)
        #expect(SlurmStates.seconds("01:02.500") == 62.5)
        #expect(SlurmStates.seconds("") == nil && SlurmStates.seconds("INVALID") == nil)
        #expect(SlurmStates.kilobytes("2048K") == 2048 && SlurmStates.kilobytes("1.5M") == 1536 && SlurmStates.kilobytes("") == nil)
        let row = SlurmStates.row(SlurmAccountingEntry(jobID: "42.batch", state: "COMPLETED", exitCode: "0:0", elapsed: "00:00:07",
                                                       totalCPU: "00:01.250", maxRSS: "10M", nodeList: "n[1-2]",
                                                       start: "2026-12-01T12:00:00", end: "Unknown", comment: ""))
        #expect(row == AccountingRow(step: "batch", state: "COMPLETED", exitCode: "0:0", elapsedSeconds: 7, totalCPUSeconds: 1.25,
                                     maxRSSKB: 10240, nodeList: "n[1-2]", start: "2026-12-01T12:00:00", end: nil))
    }

    static func script(name: String, description: String) throws -> (Job, String) {
        let body = #"{"name": "\#(name)", "description": \#(description), "resources": {"ranks": 2, "nodes": 2, "wall_clock_limit": 90, "memory_mb": 700}, "scheduler": {"partition": "long"}}"#
        let job = Job(owner: "alice", spec: try JobRequest.validate(try JSONParser.parse(Array(body.utf8))), backend: .slurm)
        var site = SiteConfiguration()
        site.account = "astro"
        site.modules = ["openmpi/4.1"]
        let template = ServiceTemplates.slurm
        let text = try BatchScript(templatePath: template).render(job, plan: AttemptPlan(number: 2, resume: true, memoryMB: 700),
                                                                  site: site, directory: "/scratch/g4/\(job.id)", g4sim: "/opt/g4/bin/g4sim")
        return (job, text)
    }

    @Test func scriptCarriesTheJobsResourcesAndNothingOfItsText() throws {
        let (job, text) = try Self.script(name: "box 1", description: #""line one\n#SBATCH --uid=0\n$(touch /tmp/x) `id`""#)
        let directives = text.split(separator: "\n").filter { $0.hasPrefix("#SBATCH") }.map(String.init)
        #expect(directives == [
            "#SBATCH --job-name=g4-box_1", "#SBATCH --comment=g4:\(job.id):2", "#SBATCH --ntasks=2", "#SBATCH --nodes=2",
            "#SBATCH --mem-per-cpu=700M", "#SBATCH --time=0-00:02:00", "#SBATCH --signal=B:USR1@30",
            "#SBATCH --chdir=/scratch/g4/\(job.id)", "#SBATCH --output=/scratch/g4/\(job.id)/stdout.log",
            "#SBATCH --error=/scratch/g4/\(job.id)/stderr.log", "#SBATCH --open-mode=append", "#SBATCH --no-requeue",
            "#SBATCH --partition=long", "#SBATCH --account=astro",
        ])
        #expect(text.hasPrefix("#!/bin/bash\n"), "\(text.prefix(80))")
        #expect(text.contains("\nsrun --mpi=pmix '/opt/g4/bin/g4sim' run param.txt --restart &\n"))
        #expect(text.contains("\nmodule load openmpi/4.1\n"))
        for evil in ["--uid", "touch", "`", "$(", "line one"] { #expect(!text.contains(evil), "\(evil) reached the script") }
    }

    @Test func jobNamesAreSanitised() {
        #expect(BatchScript.jobName("a b/c;d") == "g4-a_b_c_d")
        #expect(BatchScript.jobName(String(repeating: "x", count: 100)).count == 64)
        #expect(BatchScript.timeLimit(seconds: 61) == "0-00:02:00" && BatchScript.timeLimit(seconds: 90_000) == "1-01:00:00")
        #expect(BatchScript.shellQuoted("a'b") == "'a'\\''b'")
    }

    @Test func siteFilesAreCheckedLineByLine() throws {
        let site = try SiteConfiguration.parse("""
            # comment
            partition = debug
            module = openmpi/4.1
            module = hdf5
            directive = --exclusive
            launcher = mpirun
            signal_lead_seconds = 120
            """, file: "site.conf")
        #expect(site.partition == "debug" && site.modules == ["openmpi/4.1", "hdf5"] && site.launcher == .mpirun)
        #expect(site.directives == ["--exclusive"] && site.signalLeadSeconds == 120)
        #expect(throws: SiteConfigurationError.self) { try SiteConfiguration.parse("partition = a;b", file: "s") }
        #expect(throws: SiteConfigurationError.self) { try SiteConfiguration.parse("directive = exclusive", file: "s") }
        #expect(throws: SiteConfigurationError.self) { try SiteConfiguration.parse("colour = blue", file: "s") }
    }
}

enum ServiceTemplates {
    /// The repository's template (Tests/SchedulingTests/ → templates/).
    static var slurm: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("templates/slurm/g4sim.sbatch.mustache").path
    }
}
