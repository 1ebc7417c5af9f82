import Foundation
import Logging
import PoolProtocol
import Redis
import Registry
import Synchronization
import Testing
import TestSupport

/// The task queue's commands and scripts against a real Redis: deliveries go in and out of an
/// agent's stream through the group `workers`, a new host takes over what a vanished one
/// left, and cancels reach the worker's own channel.
@Suite("Task queue against a real Redis (REDIS_URL)")
struct TaskQueueTests {
    @Test(.timeLimit(.minutes(1))) func enqueueReadAcknowledgeAndDepth() async throws {
        try await TestTaskStreams.with { queue, agentID in
            let tasks = (1...3).map { _ in Identifier.make() }
            for (index, task) in tasks.enumerated() { try await queue.enqueue(agentID: agentID, taskID: task, seq: index + 1) }
            #expect(try await queue.depth(agentIDs: [agentID, Identifier.make()]).values.sorted() == [0, 3])
            let groups = try await queue.redis.send("XINFO", "GROUPS", RedisKeys.agentTasks(agentID))
            #expect(groups.array?.count == 1, "one group: \(groups)")

            let deliveries = try await TestTaskStreams.read(agentID, consumer: "reader-\(Identifier.make())", count: 3)
            #expect(deliveries.map(\.taskID) == tasks)
            #expect(deliveries.map(\.seq) == [1, 2, 3])
            #expect(try await TestTaskStreams.pendingCount(queue, agentID) == 3)

            try await queue.acknowledge(agentID: agentID, entryIDs: deliveries.map(\.entryID))
            #expect(try await TestTaskStreams.pendingCount(queue, agentID) == 0)
            #expect(try await queue.depth(agentIDs: [agentID]) == [agentID: 0])
            try await queue.acknowledge(agentID: agentID, entryIDs: [])

            try await queue.remove(agentID: agentID)
            #expect(try await queue.redis.send("EXISTS", RedisKeys.agentTasks(agentID)).int == 0)
            // Acknowledging into a stream Redis lost is no error: there is nothing left to do.
            try await queue.acknowledge(agentID: agentID, entryIDs: deliveries.map(\.entryID))
        }
    }

    @Test(.timeLimit(.minutes(1))) func aNewHostTakesOverWhatAVanishedConsumerLeftPending() async throws {
        try await TestTaskStreams.with { queue, agentID in
            let tasks = (1...2).map { _ in Identifier.make() }
            for (index, task) in tasks.enumerated() { try await queue.enqueue(agentID: agentID, taskID: task, seq: index + 1) }
            let dead = "dead-\(Identifier.make())", heir = "heir-\(Identifier.make())"
            let delivered = try await TestTaskStreams.read(agentID, consumer: dead, count: 2)
            #expect(delivered.count == 2)

            let taken = try await queue.takeOver(agentID: agentID, consumer: heir)
            #expect(taken == delivered)
            let pending = try await queue.redis.send("XPENDING", RedisKeys.agentTasks(agentID), RedisKeys.taskConsumerGroup)
            let consumers = pending.array?.last?.array?.compactMap { $0.array?.first?.string }
            #expect(consumers == [heir], "\(pending)")
            // Nothing is pending to anyone else now; a stream that never existed has nothing.
            #expect(try await queue.takeOver(agentID: agentID, consumer: "third-\(Identifier.make())").map(\.taskID) == tasks)
            #expect(try await queue.takeOver(agentID: Identifier.make(), consumer: heir).isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(1))) func sendCancelReachesTheHostingWorkerOnly() async throws {
        try await TestTaskStreams.with { queue, agentID in
            let host = Identifier.make(), other = Identifier.make()
            let taskID = Identifier.make()
            _ = try await queue.redis.send("HSET", RedisKeys.agent(agentID), "agent_id", agentID, "process_id", host)
            try await CommandListener.with([host, other]) { (listener) async throws in
                #expect(try await queue.sendCancel(agentID: agentID, taskID: taskID))
                #expect(await Poll.eventually { !listener.commands(for: host).isEmpty })
                #expect(listener.commands(for: host) == [.cancelTask(CancelTask(targetProcessID: host, agentID: agentID, taskID: taskID))])
                #expect(listener.commands(for: other).isEmpty)
                // An agent placed nowhere has no worker to tell.
                #expect(try await queue.sendCancel(agentID: Identifier.make(), taskID: taskID) == false)
            }
            _ = try await queue.redis.send("DEL", RedisKeys.agent(agentID))
        }
    }

    @Test(.timeLimit(.minutes(1))) func publishUpdateWakesThePoolsSubscribers() async throws {
        try await TestTaskStreams.with { queue, agentID in
            let pool = "tq\(UInt32.random(in: 0...UInt32.max))"
            let subscriber = RedisSubscriber(
                configuration: try TestRedis.configuration(), channels: [RedisKeys.poolTaskUpdates(pool)], logger: TestRedis.logger)
            let received = Mutex<[PoolMessage]>([])
            let subscribed = Mutex(false)
            let reading = Task {
                for await event in subscriber.events {
                    switch event {
                    case .subscribed: subscribed.withLock { $0 = true }
                    case .message(_, let payload): if let message = try? MessageCodec.decode(payload) { received.withLock { $0.append(message) } }
                    }
                }
            }
            let running = Task { await subscriber.run() }
            defer {
                running.cancel()
                reading.cancel()
            }
            #expect(await Poll.eventually { subscribed.withLock { $0 } })
            let update = TaskUpdated(agentID: agentID, taskID: Identifier.make(), status: .cancelled, eventID: 4)
            try await queue.publishUpdate(update, pool: pool)
            #expect(await Poll.eventually { !received.withLock { $0.isEmpty } })
            #expect(received.withLock { $0 } == [.taskUpdated(update)])
        }
    }
}

/// Agents' task streams for the task queue and feed suites: each test gets a fresh agent id,
/// and its stream is deleted afterwards.
enum TestTaskStreams {
    static func with(_ body: (TaskQueue, String) async throws -> Void) async throws {
        let client = RedisClient(configuration: try TestRedis.configuration(), poolSize: 4, logger: TestRedis.logger)
        let agentID = Identifier.make()
        do {
            try await body(TaskQueue(redis: client), agentID)
        } catch {
            _ = try? await client.send("DEL", RedisKeys.agentTasks(agentID))
            await client.close()
            throw error
        }
        _ = try? await client.send("DEL", RedisKeys.agentTasks(agentID))
        await client.close()
    }

    /// Reads `count` deliveries of `agentID` as `consumer` through a feed of its own.
    static func read(
        _ agentID: String, consumer: String, count: Int, configuration: RedisConfiguration? = nil
    ) async throws -> [TaskDelivery] {
        let feed = TaskFeed(configuration: try configuration ?? TestRedis.configuration(), consumer: consumer, logger: TestRedis.logger)
        feed.setAgents([agentID])
        let running = Task { await feed.run() }
        defer { running.cancel() }
        var deliveries: [TaskDelivery] = []
        for await batch in feed.deliveries {
            deliveries += batch
            if deliveries.count >= count { break }
        }
        return deliveries
    }

    /// How many entries of the agent's stream are delivered and not acknowledged.
    static func pendingCount(_ queue: TaskQueue, _ agentID: String) async throws -> Int {
        try await queue.redis.send("XPENDING", RedisKeys.agentTasks(agentID), RedisKeys.taskConsumerGroup).array?.first?.int ?? -1
    }
}
