import PoolProtocol
import Redis
import Synchronization
import Testing
import TestSupport

/// Stands in for workers on their command channels: subscribes to `process:<id>:commands` of
/// each given worker and records every line published there, so that a test can see what a
/// registry script sent, and so that `PUBLISH` counts a receiver as it would for a live worker.
final class CommandListener: Sendable {
    private let lines = Mutex<[(channel: String, payload: [UInt8])]>([])
    private let subscribed = Mutex(false)

    /// Runs `body` while `processIDs` have a listener on their command channels.
    static func with<T>(_ processIDs: [String], _ body: (CommandListener) async throws -> T) async throws -> T {
        let listener = CommandListener()
        let subscriber = RedisSubscriber(
            configuration: try TestRedis.configuration(), channels: processIDs.map(RedisKeys.processCommands), logger: TestRedis.logger)
        let reading = Task {
            for await event in subscriber.events {
                switch event {
                case .subscribed: listener.subscribed.withLock { $0 = true }
                case .message(let channel, let payload): listener.lines.withLock { $0.append((channel, payload)) }
                }
            }
        }
        let running = Task { await subscriber.run() }
        defer {
            running.cancel()
            reading.cancel()
        }
        guard await Poll.eventually({ listener.subscribed.withLock { $0 } }) else {
            throw RedisError(.connection, "the command listener could not subscribe")
        }
        return try await body(listener)
    }

    /// The commands received so far on `processID`'s channel, decoded.
    func commands(for processID: String) -> [PoolMessage] {
        let channel = RedisKeys.processCommands(processID)
        return lines.withLock { $0.filter { $0.channel == channel } }.compactMap { try? MessageCodec.decode($0.payload) }
    }

    /// How many lines arrived on any channel, decodable or not.
    var lineCount: Int { lines.withLock { $0.count } }
}
