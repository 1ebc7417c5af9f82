import ArgumentParser
import EventLoopExecution

/// The gateway's entry point. Swift concurrency's jobs go to the event loops before the first
/// one is enqueued (`EventLoopGlobalExecutor`), then the command parses its arguments and runs.
@main
enum GatewayEntry {
    static func main() async {
        EventLoopGlobalExecutor.install()
        await GatewayCommand.main()
    }
}
