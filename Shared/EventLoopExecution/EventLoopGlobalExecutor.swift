import CConcurrencyHooks
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import NIOPosix

/// Runs Swift concurrency's jobs on SwiftNIO's event loops instead of Dispatch's thread pool.
///
/// Every reply the services wait for (Redis, PostgreSQL's poller, HTTP) arrives on an event
/// loop, and the task awaiting it used to continue on one of Dispatch's threads: a thread
/// switch per await, and threads that exist only for that. With this hook a job enqueued from
/// an event loop stays on that loop (`EventLoopGroup.any()` is sticky), so a reply is handled
/// where it was read. Only jobs bound for the global executor move: actors with executors of
/// their own and the main actor are untouched, and timers (`Task.sleep`) still fire on
/// Dispatch, whose jobs then continue here.
///
/// This is what SwiftNIO's `NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`
/// does, reaching the hook by a link-time reference (see `CConcurrencyHooks.h`) because its
/// `dlsym` lookup finds nothing in a binary built with the static Swift runtime.
///
/// Nothing run as a Swift task may block: with this installed it would stall an event loop's
/// I/O. The services' clients are non-blocking; the child reaper has a thread of its own.
public enum EventLoopGlobalExecutor {
    typealias Original = @convention(thin) (UnownedJob) -> Void
    typealias Hook = @convention(thin) (UnownedJob, Original) -> Void

    /// Installs the hook once, at start, before the services run. Returns false (and changes
    /// nothing) when another hook is already installed or `AGENTPOOL_DISPATCH_EXECUTOR=1` asks
    /// for Swift's own executor (for comparisons).
    @discardableResult
    public static func install() -> Bool {
        if let value = getenv("AGENTPOOL_DISPATCH_EXECUTOR"), String(cString: value) == "1" { return false }
        let slot = agentpool_enqueue_global_hook()
        guard slot.pointee == nil else { return false }
        let hook: Hook = { job, _ in
            MultiThreadedEventLoopGroup.singleton.any().enqueue(ExecutorJob(job))
        }
        slot.pointee = unsafeBitCast(hook, to: UnsafeMutableRawPointer.self)
        return true
    }
}
