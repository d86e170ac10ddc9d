import ArgumentParser
import Foundation
import Parallel

/// The compute binary. `main` stays synchronous: MPI is initialised with
/// MPI_THREAD_FUNNELED on this thread, and every MPI call must come from it.
@main
struct G4Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "g4sim",
        abstract: "A GADGET-4-compatible TreePM cosmological N-body solver.",
        discussion: "Run under MPI as: mpirun -np N g4sim <subcommand> ...",
        subcommands: [RunCommand.self, ICsCommand.self, FoFCommand.self, PowerSpecCommand.self, ForceTestCommand.self, ParamsCommand.self, SnapshotCommand.self, CheckCommand.self])
}

/// Runs `body` with MPI started, and always finalises MPI afterwards (also
/// when `body` throws), so that mpirun sees a clean exit. An error is
/// reported before MPI shuts down, so that it is on record whatever happens
/// during the shutdown.
func withMPI<T>(_ body: (Communicator) throws -> T) throws -> T {
    MPIRuntime.start()
    do {
        let result = try body(.world)
        MPIRuntime.stop()
        return result
    } catch let code as ExitCode {
        MPIRuntime.stop()
        throw code
    } catch {
        printError("Error: \(error)")
        MPIRuntime.stop()
        throw ExitCode.failure
    }
}

/// Prints on rank 0 only.
func say(_ communicator: Communicator, _ text: String) {
    if communicator.isRoot { emit(text) }
}

/// Writes a line to standard output at once (no stdio buffering), so
/// progress reaches log files and pipes as it happens.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
