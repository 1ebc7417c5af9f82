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

    public init(redis: RedisClient) {
        self.redis = redis
    }

    /// Appends a delivery of `taskID` to the agent's stream (the group exists afterwards).
    public func enqueue(agentID: String, taskID: String, seq: Int) async throws {
        fatalError("skeleton")
    }

    /// The entry was handled (its outcome committed): acknowledged and removed from the stream.
    public func acknowledge(agentID: String, entryIDs: [String]) async throws {
        fatalError("skeleton")
    }

    /// Takes over the entries of the agent's stream delivered to other consumers and never
    /// acknowledged (their worker died or left): the agent's new host calls it at start.
    public func takeOver(agentID: String, consumer: String) async throws -> [TaskDelivery] {
        fatalError("skeleton")
    }

    /// Entries in each agent's stream (queue depth), 0 for an agent without a stream.
    public func depth(agentIDs: [String]) async throws -> [String: Int] {
        fatalError("skeleton")
    }

    /// Deletes the agent's stream (the agent ended).
    public func remove(agentID: String) async throws {
        fatalError("skeleton")
    }

    /// Sends `cancel_task` to the worker the registry places the agent on; false when the
    /// agent is placed nowhere.
    public func sendCancel(agentID: String, taskID: String) async throws -> Bool {
        fatalError("skeleton")
    }

    /// Publishes a `task_updated` wake-up on `pool:<pool>:task_updates`.
    public func publishUpdate(_ update: TaskUpdated, pool: String) async throws {
        fatalError("skeleton")
    }
}
