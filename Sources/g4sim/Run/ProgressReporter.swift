import Foundation
import Parallel
import RunContract
import Simulation

/// What the sidecar and people watch: `OutputDir/progress.json` (replaced
/// atomically, at most every two seconds and at every output), a human line
/// on stdout every 50 steps, and `OutputDir/timings.txt` with one line per
/// step (GADGET-4's cpu.txt in spirit). Only rank 0 writes.
final class ProgressReporter {
    let directory: String
    let communicator: Communicator
    private var lastWrite = -Double.infinity
    private var lastSnapshot: String?
    private var timings: FileHandle?
    private var previous = RunTimings()
    private var previousWall = MPIRuntime.wallTime()

    init(directory: String, communicator: Communicator) {
        self.directory = directory
        self.communicator = communicator
        guard communicator.isRoot else { return }
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/timings.txt"
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: Data(
                "# step a active_particles wall_s domain_s pm_s ghosts_s treebuild_s treewalk_s (rank 0)\n".utf8))
        }
        timings = FileHandle(forWritingAtPath: path)
        _ = try? timings?.seekToEnd()
    }

    func step(_ integrator: Integrator, elapsed: Double) {
        let now = MPIRuntime.wallTime()
        if communicator.isRoot {
            let t = integrator.timings
            let line = String(format: "%d %.8f %d %.4f %.4f %.4f %.4f %.4f %.4f\n", integrator.steps, integrator.scaleFactor,
                              integrator.lastActiveCount, now - previousWall, t.domain - previous.domain, t.mesh - previous.mesh,
                              t.ghosts - previous.ghosts, t.treeBuild - previous.treeBuild, t.treeWalk - previous.treeWalk)
            timings?.write(Data(line.utf8))
            previous = t
            previousWall = now
            if integrator.steps % 50 == 0 {
                let a = integrator.scaleFactor
                emit(String(format: "step %6d  a = %.6f  z = %8.4f  done %5.1f%%  %.1f s", integrator.steps, a, 1 / a - 1,
                            100 * fraction(integrator), elapsed))
            }
        }
        // Ranks' clocks differ: agree on whether to write (it involves a reduction).
        if communicator.allreduce(now - lastWrite >= 2 ? 1 : 0, .max) != 0 { write(integrator, elapsed: elapsed, state: "running") }
    }

    func snapshotWritten(_ path: String) { lastSnapshot = path }

    func finish(_ integrator: Integrator, elapsed: Double, state: String) {
        write(integrator, elapsed: elapsed, state: state)
        try? timings?.close()
    }

    /// Fraction of the run done, in ln a (the integrator's timeline).
    private func fraction(_ integrator: Integrator) -> Double { Double(integrator.tick) / Double(Timeline.ticks) }

    private func write(_ integrator: Integrator, elapsed: Double, state: String) {
        lastWrite = MPIRuntime.wallTime()
        let evaluations = communicator.allreduce(integrator.forceEvaluations, .sum)
        let peak = communicator.allreduce(peakResidentMegabytes(), .max)
        guard communicator.isRoot else { return }
        let done = fraction(integrator)
        let a = integrator.scaleFactor
        // Early steps are the expensive ones, so a linear estimate in ln a is pessimistic at first.
        let eta: Double? = done > 0 && done < 1 ? elapsed * (1 - done) / done : (done >= 1 ? 0 : nil)
        let progress = SolverProgress(
            state: state, step: integrator.steps, scaleFactor: a, redshift: 1 / a - 1, fractionDone: done,
            elapsedSeconds: elapsed, etaSeconds: eta, particlesPerSecond: elapsed > 0 ? Double(evaluations) / elapsed : 0,
            lastSnapshot: lastSnapshot, peakMemoryMB: peak, updated: ISO8601DateFormatter().string(from: Date()))
        try? writeAtomically(String(decoding: progress.encoded(), as: UTF8.self), to: directory + "/" + RunLayout.progressFile)
    }
}
