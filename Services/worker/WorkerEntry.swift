import ArgumentParser
import EventLoopExecution
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The worker's entry point. Swift concurrency's jobs go to the event loops before the first
/// one is enqueued (`EventLoopGlobalExecutor`), then the command parses its arguments and runs.
@main
enum WorkerEntry {
    static func main() async {
        // One event loop unless the operator sets SwiftNIO's NIO_SINGLETON_GROUP_LOOP_COUNT: a
        // worker's I/O is a handful of connections, and with every job on one thread a reply
        // is handled where it was read, without waking a second thread. Pools scale out by
        // workers, one process per few agents.
        if getenv("NIO_SINGLETON_GROUP_LOOP_COUNT") == nil { NIOSingletons.groupLoopCountSuggestion = 1 }
        EventLoopGlobalExecutor.install()
        await WorkerCommand.main()
    }
}
