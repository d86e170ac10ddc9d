import CMPI

/// MPI start-up and shutdown for the whole process.
///
/// `start()` must be called from the thread that will make every later MPI
/// call (we ask for `MPI_THREAD_FUNNELED`), so callers keep `main` synchronous:
/// an `async` main moves the main actor onto another thread.
public enum MPIRuntime {
    /// Initialises MPI once; later calls are no-ops. Works without `mpirun`
    /// (a singleton world of one rank), which is how unit tests run.
    ///
    /// `anyThread`: MPI may be called from any thread, one at a time
    /// (MPI_THREAD_SERIALIZED) — for test runners that move work between
    /// threads; callers then serialise their MPI use themselves.
    public static func start(anyThread: Bool = false) {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized != 0 { return }
        var provided: Int32 = 0
        let level = anyThread ? cmpi_thread_serialized() : cmpi_thread_funneled()
        let rc = MPI_Init_thread(nil, nil, level, &provided)
        precondition(rc == cmpi_success(), "MPI_Init_thread failed with code \(rc)")
    }

    /// Finalises MPI if it was started and not yet finalised.
    public static func stop() {
        var initialized: Int32 = 0
        var finalized: Int32 = 0
        MPI_Initialized(&initialized)
        MPI_Finalized(&finalized)
        if initialized != 0 && finalized == 0 { MPI_Finalize() }
    }

    /// Wall-clock seconds from an arbitrary origin (MPI_Wtime).
    public static func wallTime() -> Double { MPI_Wtime() }
}
