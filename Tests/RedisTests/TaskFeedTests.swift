import Foundation
import Logging
import PoolProtocol
import Redis
import Registry
import Synchronization
import TestSupport
import Testing

/// The worker's blocking reader of task streams against a real Redis: a change of the agent
/// set cuts a blocked read short, a group Redis lost is made again, and a lost connection
/// costs no delivery.
@Suite("Task feed against a real Redis (REDIS_URL)")
struct TaskFeedTests {
    @Test(.timeLimit(.minutes(1)))
    func aNewAgentsFirstTaskDoesNotWaitForTheBlockedRead() async throws {
        try await TestTaskStreams.with { queue, first in
            let second = Identifier.make()
            // A block far longer than the test may wait: a delivery in time proves the cut-short.
            let block = Duration.seconds(120)
            let feed = TaskFeed(
                configuration: try TestRedis.configuration(), consumer: "feed-\(Identifier.make())", logger: TestRedis.logger,
                blockTime: block)
            feed.setAgents([first])
            try await FeedRun.with(feed) { run in
                try await queue.enqueue(agentID: first, taskID: Identifier.make(), seq: 1)
                #expect(try await run.next().first?.agentID == first)
                // Let the feed block on `first` alone again.
                try await Task.sleep(for: .milliseconds(300))
                let taskID = Identifier.make()
                try await queue.enqueue(agentID: second, taskID: taskID, seq: 1)
                let started = ContinuousClock.now
                feed.setAgents([first, second])
                let batch = try await run.next()
                print("the second agent's first task arrived \(ContinuousClock.now - started) after setAgents (block time \(block))")
                #expect(batch.map(\.taskID) == [taskID])
                #expect(batch.first?.agentID == second)
            }
            _ = try await queue.redis.send("DEL", RedisKeys.agentTasks(second))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aFeedWithoutAgentsWaitsForTheFirst() async throws {
        try await TestTaskStreams.with { queue, agentID in
            let feed = TaskFeed(configuration: try TestRedis.configuration(), consumer: "feed-\(Identifier.make())", logger: TestRedis.logger)
            try await FeedRun.with(feed) { run in
                let taskID = Identifier.make()
                try await queue.enqueue(agentID: agentID, taskID: taskID, seq: 7)
                try await Task.sleep(for: .milliseconds(200))
                let started = ContinuousClock.now
                feed.setAgents([agentID])
                let batch = try await run.next()
                print("delivered \(ContinuousClock.now - started) after the first setAgents")
                #expect(batch == [TaskDelivery(agentID: agentID, entryID: batch.first?.entryID ?? "", taskID: taskID, seq: 7)])
            }
        }
    }

    /// FLUSHALL on a private server: the shared one holds other suites' keys.
    @Test(.timeLimit(.minutes(1)))
    func aGroupRedisLostIsMadeAgainAndReadingGoesOn() async throws {
        try await PrivateRedisServer.with { server in
            let client = RedisClient(configuration: server.configuration, poolSize: 2, logger: TestRedis.logger)
            let queue = TaskQueue(redis: client)
            let agentID = Identifier.make()
            let feed = TaskFeed(configuration: server.configuration, consumer: "feed-\(Identifier.make())", logger: TestRedis.logger)
            feed.setAgents([agentID])
            try await FeedRun.with(feed) { run in
                try await queue.enqueue(agentID: agentID, taskID: Identifier.make(), seq: 1)
                #expect(try await run.next().count == 1)

                _ = try await client.send("FLUSHALL")
                let recreated = try await Poll.until("the feed to create the group again") {
                    (try? await client.send("XINFO", "GROUPS", RedisKeys.agentTasks(agentID)))?.array?.count == 1
                }
                print("the group was back \(recreated) after FLUSHALL")
                // A plain XADD (no script creating the group): only the feed's group can deliver it.
                let taskID = Identifier.make()
                _ = try await client.send("XADD", RedisKeys.agentTasks(agentID), "*", "task_id", taskID, "seq", "2")
                #expect(try await run.next().map(\.taskID) == [taskID])
            }
            await client.close()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aLostConnectionDeliversWhatItsReplyCarriedAgain() async throws {
        try await PrivateRedisServer.with { server in
            let client = RedisClient(configuration: server.configuration, poolSize: 2, logger: TestRedis.logger)
            let queue = TaskQueue(redis: client)
            let agentID = Identifier.make()
            let feed = TaskFeed(configuration: server.configuration, consumer: "feed-\(Identifier.make())", logger: TestRedis.logger)
            feed.setAgents([agentID])
            try await FeedRun.with(feed) { run in
                let taskID = Identifier.make()
                try await queue.enqueue(agentID: agentID, taskID: taskID, seq: 1)
                let first = try await run.next()
                #expect(first.map(\.taskID) == [taskID])
                // Kill the feed's connection (the one blocked in XREADGROUP) while the entry is unacknowledged.
                try await Poll.until("the feed to block again") {
                    try await client.send("CLIENT", "LIST").string?.contains("cmd=xreadgroup") == true
                }
                let killed = try await client.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
                #expect((killed.int ?? 0) >= 1)
                let started = ContinuousClock.now
                let again = try await run.next()
                print("redelivered \(ContinuousClock.now - started) after the connection was killed")
                #expect(again == first)
                let next = Identifier.make()
                try await queue.enqueue(agentID: agentID, taskID: next, seq: 2)
                #expect(try await run.next().map(\.taskID) == [next])
            }
            await client.close()
        }
    }
}

/// A running feed whose deliveries a test takes one batch at a time.
final class FeedRun {
    private var batches: AsyncStream<[TaskDelivery]>.AsyncIterator

    private init(_ feed: TaskFeed) {
        batches = feed.deliveries.makeAsyncIterator()
    }

    /// Runs the feed while `body` runs.
    static func with(_ feed: TaskFeed, _ body: (FeedRun) async throws -> Void) async throws {
        let run = FeedRun(feed)
        let running = Task { await feed.run() }
        defer { running.cancel() }
        try await body(run)
    }

    /// The next batch of deliveries.
    func next() async throws -> [TaskDelivery] {
        guard let batch = await batches.next() else { throw RedisError(.connection, "the feed stopped") }
        return batch
    }
}
