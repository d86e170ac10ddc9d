import Foundation
import Jobs

/// A backend that can show what it hands its scheduler for a job (an sbatch
/// script, a Job manifest, the local command line), for users to read.
public protocol RendersSchedulerScript {
    func schedulerScript(for job: Job) -> String
}

extension LocalBackend: RendersSchedulerScript {
    /// The local backend runs no scheduler: this is the command it starts in
    /// the job's directory (in a session of its own, output to stdout.log).
    public func schedulerScript(for job: Job) -> String {
        let run = job.resources.ranks > 1
            ? "\(configuration.mpirun) -np \(job.resources.ranks) --oversubscribe --bind-to none \(configuration.g4sim) run param.txt"
            : "\(configuration.g4sim) run param.txt"
        return """
            #!/bin/sh
            # g4api local backend: job \(job.id) (\(job.name))
            cd \(workingDirectory(for: job).path)
            \(run) >> stdout.log 2>> stderr.log    # resumed attempts add --restart
            """
    }
}
