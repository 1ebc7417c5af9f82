import Foundation
import Synchronization

/// The one place in the process that waits for child processes, on a thread of its own (a
/// blocking `waitid` never runs on the cooperative pool).
///
/// How it avoids stealing exit statuses:
/// - It blocks in `waitid(P_ALL, WEXITED | WNOWAIT)`, which says that *some* child ended
///   without reaping it, then reaps only the pids registered here, each with
///   `waitpid(pid, WNOHANG)`, and hands the status to that child's handler. A child someone
///   else started (Foundation's `Process`, a test helper) is left to its owner.
/// - ``spawn(_:)`` holds the registry's lock across `posix_spawn` and the registration, so a
///   child that exits before its pid is recorded is still found by the sweep that follows.
/// - When the process is PID 1 of a container (or a child subreaper), orphaned grandchildren
///   are re-parented to it and nobody else would ever reap them: then every ended child is
///   reaped (`waitpid(-1, WNOHANG)`), registered ones still go to their handlers, and the
///   others are orphans whose status nobody waits for.
///
/// Consequence: in a process that uses this reaper as PID 1, no other code may wait for
/// children of its own. The worker starts no other children.
public final class ChildReaper: Sendable {
    /// The process-wide reaper.
    public static let shared = ChildReaper()

    private struct Registry {
        var handlers: [pid_t: @Sendable (ExitStatus) -> Void] = [:]
        var threadStarted = false
        var idle = false
        var orphansReaped = 0
    }

    private let registry = Mutex(Registry())
    private let wake = DispatchSemaphore(value: 0)

    private init() {}

    /// Whether ended children that are not ours get reaped too (PID 1, or a subreaper).
    public var adoptsOrphans: Bool {
        getpid() == 1 || Subreaper.isEnabled
    }

    /// How many orphans (children not registered here) were reaped so far.
    public var orphansReaped: Int { registry.withLock { $0.orphansReaped } }

    /// Starts a child with `spawn` (which returns its pid or throws) and calls `onExit` once,
    /// from the reaper's thread, when it has ended and been reaped.
    public func spawn<Failure: Error>(
        _ spawn: () throws(Failure) -> pid_t, onExit: @escaping @Sendable (ExitStatus) -> Void
    ) throws(Failure) -> pid_t {
        let (pid, wakeThread, startThread): (pid_t, Bool, Bool) = try registry.withLock { (registry) throws(Failure) in
            let pid = try spawn()
            registry.handlers[pid] = onExit
            let start = !registry.threadStarted
            registry.threadStarted = true
            let wake = registry.idle
            registry.idle = false
            return (pid, wake, start)
        }
        if startThread {
            let thread = Thread { [self] in run() }
            thread.name = "agentpool-reaper"
            thread.start()
        } else if wakeThread {
            wake.signal()
        }
        return pid
    }

    /// Whether `pid` is a child of ours that has not been reaped yet.
    public func isRunning(_ pid: pid_t) -> Bool {
        registry.withLock { $0.handlers[pid] != nil }
    }

    private func run() {
        while true {
            var info = siginfo_t()
            if waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) == -1 {
                switch errno {
                case EINTR: continue
                case ECHILD:
                    // No children at all: sleep until the next spawn.
                    let sleep = registry.withLock { registry in
                        registry.idle = registry.handlers.isEmpty
                        return registry.idle
                    }
                    if sleep { wake.wait() }
                    continue
                default:
                    usleep(50_000)
                    continue
                }
            }
            var delivered = sweepRegistered()
            if adoptsOrphans {
                delivered += reapAnyChild()
            }
            if delivered == 0 {
                // Another owner's child ended: give it time to reap it before looking again.
                usleep(20_000)
            }
        }
    }

    /// Reaps the registered children that have ended and calls their handlers.
    private func sweepRegistered() -> Int {
        let pids = registry.withLock { Array($0.handlers.keys) }
        var ended: [(pid_t, ExitStatus)] = []
        for pid in pids {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                ended.append((pid, ExitStatus(waitStatus: status)))
            }
        }
        return deliver(ended)
    }

    /// Reaps every ended child, registered or not (the PID 1 duty).
    private func reapAnyChild() -> Int {
        var ended: [(pid_t, ExitStatus)] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            ended.append((pid, ExitStatus(waitStatus: status)))
        }
        _ = deliver(ended)
        return ended.count
    }

    private func deliver(_ ended: [(pid_t, ExitStatus)]) -> Int {
        var count = 0
        for (pid, status) in ended {
            let handler = registry.withLock { registry in
                let handler = registry.handlers.removeValue(forKey: pid)
                if handler == nil { registry.orphansReaped += 1 }
                return handler
            }
            guard let handler else { continue }
            // The child led its own process group: whatever it left running goes with it.
            kill(-pid, SIGKILL)
            handler(status)
            count += 1
        }
        return count
    }
}
