import Foundation
import Redis
import Testing
import TestSupport

/// The Redis clients run on the process's shared event loops and start no thread of their own.
@Suite("Redis clients start no threads", .serialized)
struct RedisThreadTests {
    /// The names of this process's threads (`/proc/self/task/*/comm`).
    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    @Test("a client of 8 connections, a blocking connection and a subscriber add no NIOThreadPool thread",
          .timeLimit(.minutes(1)))
    func noThreadsOfTheirOwn() async throws {
        let configuration = try TestRedis.configuration()
        let prefix = TestRedis.uniquePrefix("threads")
        // Warm up what the process shares anyway (the singleton event loops).
        let warm = RedisClient(configuration: configuration, poolSize: 1, logger: TestRedis.logger)
        try await warm.ping()
        await warm.close()
        let before = Self.threadNames()

        let client = RedisClient(configuration: configuration, poolSize: 8, logger: TestRedis.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 { group.addTask { try await client.ping() } }
            try await group.waitForAll()
        }
        let subscriber = RedisSubscriber(configuration: configuration, channels: ["\(prefix):c"], logger: TestRedis.logger)
        let log = EventLog.consuming(subscriber)
        let subscribing = Task { await subscriber.run() }
        defer { subscribing.cancel() }
        #expect(await Poll.eventually { await log.subscribedCount == 1 })
        let during = try await RedisBlockingConnection.withConnection(configuration: configuration) { blocking in
            _ = try await blocking.send(["BLPOP", "\(prefix):empty", "0.1"], blocking: .milliseconds(100))
            return Self.threadNames()
        }
        await client.close()

        let pool = { (names: [String]) in names.filter { $0.hasPrefix("TP-#") }.count }
        print("threads before: \(before.count) (\(pool(before)) NIOThreadPool), with the clients: \(during.count) (\(pool(during)) NIOThreadPool)")
        print("thread names with the clients: \(Dictionary(grouping: during, by: { $0 }).mapValues(\.count))")
        #expect(pool(during) == pool(before))
    }
}
