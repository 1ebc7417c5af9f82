#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol
import Redis

/// One task delivery read from an agent's stream `agent:<id>:tasks`.
public struct TaskDelivery: Sendable, Hashable {
    public var agentID: String
    /// The stream entry's id, to acknowledge.
    public var entryID: String
    public var taskID: String
    public var seq: Int

    public init(agentID: String, entryID: String, taskID: String, seq: Int) {
        self.agentID = agentID
        self.entryID = entryID
        self.taskID = taskID
        self.seq = seq
    }
}

/// The fast path of task delivery in Redis: one stream per agent, read by the worker hosting
/// the agent through the consumer group `workers`, plus the task wake-ups. Nothing here is
/// the truth: PostgreSQL holds every task, and a lost entry is found again by the workers'
/// sweep of it.
public struct TaskQueue: Sendable {
    public let redis: RedisClient

    /// About how many entries a stream keeps (`XADD MAXLEN ~`): far more than any agent's
    /// `max_queued_tasks`, so only entries long acknowledged-or-lost are ever trimmed, and a
    /// stream can never grow without bound.
    public static let maxStreamLength = 100_000

    /// How many entries one `XAUTOCLAIM` call takes over.
    static let claimBatch = 1000

    public init(redis: RedisClient) {
        self.redis = redis
    }

    /// Appends a delivery of `taskID` to the agent's stream (the group exists afterwards).
    public func enqueue(agentID: String, taskID: String, seq: Int) async throws {
        _ = try await redis.evalScript(
            TaskScripts.enqueue, keys: [RedisKeys.agentTasks(agentID)],
            arguments: [RedisKeys.taskConsumerGroup, String(Self.maxStreamLength), taskID, String(seq)])
    }

    /// The entry was handled (its outcome committed): acknowledged and removed from the stream.
    public func acknowledge(agentID: String, entryIDs: [String]) async throws {
        guard !entryIDs.isEmpty else { return }
        let key = RedisKeys.agentTasks(agentID)
        let replies = try await redis.pipeline([
            ["XACK", key, RedisKeys.taskConsumerGroup] + entryIDs,
            ["XDEL", key] + entryIDs,
        ])
        // A group that vanished with Redis's data has nothing left to acknowledge.
        for case .error(let message) in replies where !message.hasPrefix("NOGROUP") {
            throw RedisError(.server, message)
        }
    }

    /// Takes over the entries of the agent's stream delivered to other consumers and never
    /// acknowledged (their worker died or left): the agent's new host calls it at start.
    public func takeOver(agentID: String, consumer: String) async throws -> [TaskDelivery] {
        let key = RedisKeys.agentTasks(agentID)
        var deliveries: [TaskDelivery] = []
        var cursor = "0-0"
        repeat {
            // No stream or group: nothing was ever delivered (or Redis lost it).
            guard let reply = try await claimPage(key, consumer: consumer, from: cursor) else { return deliveries }
            guard let parts = reply.array, parts.count >= 2, let next = parts[0].string, let entries = parts[1].array else {
                throw RedisError(.protocolViolation, "XAUTOCLAIM answered \(reply)")
            }
            deliveries += entries.compactMap { TaskStreamEntry.delivery(from: $0, agentID: agentID) }
            cursor = next
        } while cursor != "0-0"
        return deliveries
    }

    /// One `XAUTOCLAIM` page; nil when the stream or its group does not exist. Idle time 0:
    /// every pending entry is another host's (or this one's), and all of them are ours now.
    private func claimPage(_ key: String, consumer: String, from cursor: String) async throws(RedisError) -> RedisReply? {
        do throws(RedisError) {
            return try await redis.send(
                "XAUTOCLAIM", key, RedisKeys.taskConsumerGroup, consumer, "0", cursor, "COUNT", String(Self.claimBatch))
        } catch {
            if error.code == .server, error.message.hasPrefix("NOGROUP") { return nil }
            throw error
        }
    }

    /// Entries in each agent's stream (queue depth), 0 for an agent without a stream.
    public func depth(agentIDs: [String]) async throws -> [String: Int] {
        guard !agentIDs.isEmpty else { return [:] }
        let replies = try await redis.pipeline(agentIDs.map { ["XLEN", RedisKeys.agentTasks($0)] })
        var depths: [String: Int] = [:]
        for (agentID, reply) in zip(agentIDs, replies) {
            if case .error(let message) = reply { throw RedisError(.server, message) }
            depths[agentID] = reply.int ?? 0
        }
        return depths
    }

    /// Deletes the agent's stream (the agent ended).
    public func remove(agentID: String) async throws {
        _ = try await redis.send("DEL", RedisKeys.agentTasks(agentID))
    }

    /// Sends `cancel_task` to the worker the registry places the agent on; false when the
    /// agent is placed nowhere.
    public func sendCancel(agentID: String, taskID: String) async throws -> Bool {
        let line = PoolRegistry.split { .cancelTask(CancelTask(targetProcessID: $0, agentID: agentID, taskID: taskID)) }
        let channel = Self.channelAround(RedisKeys.processCommands)
        let reply = try await redis.evalScript(
            TaskScripts.sendCancel, keys: [RedisKeys.agent(agentID)],
            arguments: [line.prefix, line.suffix, channel.prefix, channel.suffix])
        return reply.array != nil
    }

    /// Publishes a `task_updated` wake-up on `pool:<pool>:task_updates`, without its ending
    /// when that would make the line longer than ``largestUpdateWithEnding``: every gateway
    /// of the pool receives each line, and a waiter without an ending reads the row instead.
    public func publishUpdate(_ update: TaskUpdated, pool: String) async throws {
        var line = MessageCodec.encode(.taskUpdated(update))
        if update.ending != nil, line.count > Self.largestUpdateWithEnding {
            var bare = update
            bare.ending = nil
            line = MessageCodec.encode(.taskUpdated(bare))
        }
        _ = try await redis.send(bytes: [Array("PUBLISH".utf8), Array(RedisKeys.poolTaskUpdates(pool).utf8), line])
    }

    /// Bytes: outputs of a few KiB (most answers) ride along; larger ones are read.
    public static let largestUpdateWithEnding = 8 * 1024

    /// A channel name split around its process id, so that a script can name the channel of
    /// a worker it looked up without spelling the name itself.
    static func channelAround(_ name: (String) -> String) -> (prefix: String, suffix: String) {
        let placeholder = Identifier.make()
        let full = name(placeholder)
        guard let range = full.firstRange(of: placeholder) else {
            preconditionFailure("a channel name always contains its process id")
        }
        return (String(full[..<range.lowerBound]), String(full[range.upperBound...]))
    }
}
