import Foundation
import Synchronization

/// The signal that asked the run to stop, if any (0: none).
private let stopSignal = Atomic<Int>(0)

/// SIGUSR1 (Slurm's --signal) and SIGTERM (Kubernetes eviction, scancel)
/// ask the run to write restart files at the next safe point and exit with
/// the "resume me" status; the handler only records the request.
enum SignalWatch {
    static func install() {
        signal(SIGUSR1) { number in stopSignal.store(Int(number), ordering: .relaxed) }
        signal(SIGTERM) { number in stopSignal.store(Int(number), ordering: .relaxed) }
        // A launcher's blocked signals are inherited (a test runner's threads
        // block both): unblocked here, or the request would never arrive.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGUSR1)
        sigaddset(&stopSignals, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)
    }

    static var requested: Int { stopSignal.load(ordering: .relaxed) }

    static func name(_ number: Int) -> String {
        switch Int32(number) {
        case SIGUSR1: "SIGUSR1"
        case SIGTERM: "SIGTERM"
        default: String(number)
        }
    }
}
