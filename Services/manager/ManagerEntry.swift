import ArgumentParser
import EventLoopExecution

/// The manager's entry point. Swift concurrency's jobs go to the event loops before the first
/// one is enqueued (`EventLoopGlobalExecutor`), then the command parses its arguments and runs.
@main
enum ManagerEntry {
    static func main() async {
        EventLoopGlobalExecutor.install()
        await ManagerCommand.main()
    }
}
