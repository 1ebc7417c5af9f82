import ArgumentParser
import EventLoopExecution
import NIOCore

/// The worker's entry point. Swift concurrency's jobs go to the event loops before the first
/// one is enqueued (`EventLoopGlobalExecutor`), then the command parses its arguments and runs.
@main
enum WorkerEntry {
    static func main() async {
        // One event loop: a worker's I/O is a handful of connections, and with every job on
        // one thread a reply is handled where it was read, without waking a second thread.
        // Pools scale out by workers, one process per few agents.
        NIOSingletons.groupLoopCountSuggestion = 1
        EventLoopGlobalExecutor.install()
        await WorkerCommand.main()
    }
}
