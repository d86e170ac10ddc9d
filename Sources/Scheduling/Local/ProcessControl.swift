import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The few process operations the local backend needs, on Linux's /proc:
/// start a program in its own session, tell whether a recorded pid is still
/// the same process (pid + start time, since pids are reused), and find or
/// signal every process of a session (mpirun's ranks included).
public enum ProcessControl {
    /// Starts `arguments[0]` (a path, or a name searched on PATH) in a new
    /// session with stdin, stdout and stderr on the given files (/dev/null by
    /// default) and no other inherited descriptors (a leaked listening socket
    /// would keep g4api's port busy after a restart).
    public static func spawn(_ arguments: [String], environment: [String: String], stdin: String = "/dev/null",
                             stdout: String = "/dev/null", stderr: String = "/dev/null") throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        for fd in openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGPIPE, SIGUSR1, SIGHUP, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(spawnSetSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = arguments[0].contains("/") ? posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
            : posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard rc == 0 else { throw BackendError("cannot start \(arguments[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// glibc's POSIX_SPAWN_SETSID (a GNU extension, so not imported): setsid() in the child.
    static let spawnSetSID: Int32 = 0x80

    static func openDescriptors() -> [Int32] {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
    }

    /// Fields of /proc/PID/stat after the command name.
    struct Stat {
        let state: Character
        let parent: pid_t
        let group: pid_t
        let session: pid_t
        let startTime: UInt64
    }

    static func stat(_ pid: pid_t) -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is state (field 3); starttime is field 22 → index 19.
        guard fields.count > 19, let parent = pid_t(fields[1]), let group = pid_t(fields[2]),
              let session = pid_t(fields[3]), let start = UInt64(fields[19]) else { return nil }
        return Stat(state: fields[0].first ?? "?", parent: parent, group: group, session: session, startTime: start)
    }

    /// The kernel's start time of `pid` (clock ticks since boot), to recognise it later.
    public static func startTime(_ pid: pid_t) -> UInt64? { stat(pid)?.startTime }

    /// Whether `pid` is alive (not a zombie) and started at `startTime`.
    public static func isAlive(_ pid: pid_t, startTime: UInt64) -> Bool {
        guard let s = stat(pid) else { return false }
        return s.startTime == startTime && s.state != "Z" && s.state != "X"
    }

    /// Reaps `pid` if it is our child and has ended; its exit status, if so.
    public static func reap(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }  // WIFEXITED → WEXITSTATUS
        return 128 + (status & 0x7f)  // killed by a signal
    }

    /// Every live process whose session is `session`.
    public static func members(ofSession session: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let s = stat(pid) else { return false }
            return s.session == session && s.state != "Z"
        }
    }

    /// Sends `signal` to every process of the session (some MPI launchers put
    /// ranks in process groups of their own, but not in another session).
    public static func signal(session: pid_t, _ signal: Int32) {
        kill(-session, signal)
        for pid in members(ofSession: session) { kill(pid, signal) }
    }
}
