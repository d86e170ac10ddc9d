/// The names a run's directory uses, shared by the solver, the backends that
/// prepare and watch it, and the service that serves its results.
///
///     <job directory>/param.txt        the parameter file g4sim reads
///     <job directory>/outputs.txt      OutputListFilename
///     <job directory>/stdout.log       every attempt's standard output, appended
///     <job directory>/stderr.log       and standard error
///     <job directory>/output/          OutputDir: snapshots, catalogues, spectra,
///                                      progress.json, timings.txt, restartfiles/
public enum RunLayout {
    public static let parameterFile = "param.txt"
    public static let outputList = "outputs.txt"
    public static let stdout = "stdout.log"
    public static let stderr = "stderr.log"
    public static let outputDirectory = "output"
    /// Inside `outputDirectory`.
    public static let progressFile = "progress.json"
    /// Inside `outputDirectory`.
    public static let restartDirectory = "restartfiles"

    public static var progressPath: String { outputDirectory + "/" + progressFile }
    public static var restartPath: String { outputDirectory + "/" + restartDirectory }
}

/// g4sim's exit statuses that mean something to a scheduler.
public enum SolverExit {
    /// EX_TEMPFAIL, "resume me": stopped at a safe point (signal or 85 % of
    /// TimeLimitCPU) with restart files written; run again with --restart.
    public static let resumeMe: Int32 = 75
}

/// A run's two output streams, each appended to its file in the job's directory.
public enum LogStream: String, Sendable, CaseIterable {
    case stdout, stderr

    /// `stdout.log` or `stderr.log`.
    public var fileName: String { self == .stdout ? RunLayout.stdout : RunLayout.stderr }
}
