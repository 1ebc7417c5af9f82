#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolCore
import PoolProtocol
import Redis

/// One pool's live registry in Redis (contract section 2): who runs, where, with how many
/// free slots, and the pool's channels. Every change goes through a Lua script in
/// `RegistryScripts`, so readers never see a half-made change.
public struct PoolRegistry: Sendable {
    let redis: RedisClient
    public let pool: String

    public init(redis: RedisClient, pool: String) {
        self.redis = redis
        self.pool = pool
    }

    // MARK: Workers

    /// Whether `processID` is registered (`process:<id>` exists).
    public func isRegistered(_ processID: String) async throws -> Bool {
        try await redis.send("EXISTS", RedisKeys.process(processID)).int == 1
    }

    /// Registers a worker with no agents and a score of `maxAgents`.
    public func register(_ worker: WorkerIdentity, now: Date = Date()) async throws {
        _ = try await redis.evalScript(
            RegistryScripts.register, keys: [],
            arguments: [
                worker.processID, pool, String(worker.pid), worker.host, String(worker.maxAgents),
                Timestamp.string(now), String(Timestamp.milliseconds(now)),
            ])
    }

    /// Records a heartbeat and returns the agent ids the registry attributes to the worker
    /// (`process:<id>:agents`). Returns nil when the worker's registration is gone, which
    /// means a manager declared it dead: it must stop its agents before anything else.
    public func heartbeat(processID: String, now: Date = Date()) async throws -> Set<String>? {
        let reply = try await redis.evalScript(
            RegistryScripts.heartbeat, keys: [],
            arguments: [processID, pool, Timestamp.string(now), String(Timestamp.milliseconds(now))])
        guard let members = reply.array else { return nil }
        return Set(members.compactMap(\.string))
    }

    /// Takes the worker out of placement (score 0, status `draining`).
    public func drain(processID: String, now: Date = Date()) async throws {
        _ = try await redis.evalScript(
            RegistryScripts.drain, keys: [], arguments: [processID, pool, String(Timestamp.milliseconds(now))])
    }

    /// Removes the worker and the registry entries of every agent it hosted; returns those
    /// agent ids. For a worker leaving by itself; a leader healing a dead worker uses the
    /// fenced `deregisterDead(processID:fence:)`.
    @discardableResult
    public func deregister(processID: String) async throws -> [String] {
        let reply = try await redis.evalScript(RegistryScripts.deregister, keys: [], arguments: [processID, pool])
        return reply.array?.compactMap(\.string) ?? []
    }

    /// Every registered worker of the pool, with its free-slot score.
    public func workers() async throws -> [WorkerSnapshot] {
        let members = try await redis.send("ZRANGE", RedisKeys.poolProcesses(pool), "0", "-1", "WITHSCORES")
        let scores = WorkerReplies.scores(members)
        guard !scores.isEmpty else { return [] }
        let hashes = try await redis.pipeline(scores.map { ["HGETALL", RedisKeys.process($0.processID)] })
        return zip(scores, hashes).compactMap { entry, reply in
            WorkerReplies.worker(pool: pool, processID: entry.processID, freeSlots: entry.freeSlots, hash: reply)
        }
    }

    // MARK: Placement (see also PoolRegistry+Commands)

    /// Gives a reservation back (its command could not be delivered).
    public func releaseReservation(agentID: String, processID: String, now: Date = Date()) async throws {
        _ = try await redis.evalScript(
            RegistryScripts.release, keys: [],
            arguments: [agentID, processID, pool, String(Timestamp.milliseconds(now))])
    }

    // MARK: Agents

    /// A worker records that it now hosts `agent`. With the `epoch` of the `start_agent` it
    /// obeys, the claim is refused when `pool:<name>:epoch` is newer: a deposed leader's late
    /// start never runs an agent the current leader may place elsewhere.
    public func claimAgent(_ agent: AgentSpec, processID: String, epoch: Int? = nil, now: Date = Date()) async throws -> ClaimOutcome {
        let reply = try await redis.evalScript(
            RegistryScripts.claimAgent, keys: [],
            arguments: [
                agent.agentID, processID, pool, agent.role, agent.name, Timestamp.string(now),
                String(Timestamp.milliseconds(now)), String(epoch ?? 0),
            ])
        switch reply.int {
        case 1: return .claimed
        case 0: return .placedElsewhere
        case -2: return .staleEpoch
        default: return .notRegistered
        }
    }

    /// A worker records that it no longer hosts `agentID`.
    public func releaseAgent(agentID: String, processID: String, now: Date = Date()) async throws {
        _ = try await redis.evalScript(
            RegistryScripts.releaseAgent, keys: [],
            arguments: [agentID, processID, pool, String(Timestamp.milliseconds(now))])
    }

    /// The number of agents placed in the pool.
    public func agentCount() async throws -> Int {
        try await redis.send("SCARD", RedisKeys.poolAgents(pool)).int ?? 0
    }

    /// Where the registry says each of the pool's agents runs.
    public func placements() async throws -> [String: String] {
        let ids = try await redis.send("SMEMBERS", RedisKeys.poolAgents(pool)).array?.compactMap(\.string) ?? []
        return try await placements(of: ids)
    }

    /// Where the registry says each of `ids` runs; ids not placed are left out.
    public func placements(of ids: [String]) async throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        let replies = try await redis.pipeline(ids.map { ["HGET", RedisKeys.agent($0), "process_id"] })
        var result: [String: String] = [:]
        for (id, reply) in zip(ids, replies) {
            if let processID = reply.string { result[id] = processID }
        }
        return result
    }

    // MARK: Messages

    /// Publishes `message` as one JSON line on `channel`; returns how many subscribers got it.
    @discardableResult
    public func publish(_ message: PoolMessage, on channel: PoolChannel) async throws -> Int {
        try await publish(message, onChannel: channel.name(pool))
    }

    /// Publishes `message` as one JSON line on the channel named `channel`.
    func publish(_ message: PoolMessage, onChannel channel: String) async throws -> Int {
        try await redis.send(bytes: [Array("PUBLISH".utf8), Array(channel.utf8), MessageCodec.encode(message)]).int ?? 0
    }
}

/// What `claimAgent` found.
public enum ClaimOutcome: Sendable, Hashable {
    /// The agent is now recorded on this worker.
    case claimed
    /// Another live worker already hosts the agent; starting it here would run it twice.
    case placedElsewhere
    /// This worker's registration is gone (declared dead).
    case notRegistered
    /// The start came from a leadership older than the pool's current one.
    case staleEpoch
}
