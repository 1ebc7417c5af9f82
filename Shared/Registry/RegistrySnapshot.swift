#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolCore
import PoolProtocol
import Redis

/// One reconcile pass's reading of a pool's registry, in three pipelined round trips: the
/// workers with their heartbeat ages on Redis' own clock, and both halves of every placement
/// (`agent:<id>` hashes and each worker's `process:<id>:agents`).
public struct RegistrySnapshot: Sendable {
    /// The registered workers (a worker whose hash vanished while reading is left out).
    public var workers: [WorkerSnapshot]
    /// Worker id → seconds since its last heartbeat, on Redis' clock: the heartbeat's
    /// `heartbeat_ms` (stamped by Redis) against Redis `TIME` read in the same round trip, so
    /// that no two machines' clocks are ever compared.
    public var heartbeatAges: [String: Double]
    /// Both halves of the placements, for `ReconcilePlan`.
    public var placements: ReconcilePlan.Registry
    /// Agents with a reservation on a registered worker that has not expired (on Redis' clock),
    /// whether a leader or a gateway made it.
    public var reservations: Set<String>
}

extension PoolRegistry {
    /// Reads the registry as a reconcile pass needs it.
    public func snapshot() async throws -> RegistrySnapshot {
        let first = try await redis.pipeline([
            ["ZRANGE", RedisKeys.poolProcesses(pool), "0", "-1", "WITHSCORES"], ["SMEMBERS", RedisKeys.poolAgents(pool)],
        ])
        let scores = WorkerReplies.scores(try Self.checked(first[0]))
        let pooled = try Self.checked(first[1]).array?.compactMap(\.string) ?? []

        var commands: [[String]] = []
        for entry in scores {
            commands.append(["HGETALL", RedisKeys.process(entry.processID)])
            commands.append(["SMEMBERS", RedisKeys.processAgents(entry.processID)])
            commands.append(["ZRANGE", RedisKeys.processReservations(entry.processID), "0", "-1", "WITHSCORES"])
        }
        for agentID in pooled { commands.append(["HGET", RedisKeys.agent(agentID), "process_id"]) }
        commands.append(["TIME"])
        let replies = try await redis.pipeline(commands).map(Self.checked)

        var workers: [WorkerSnapshot] = []
        var ages: [String: Double] = [:]
        var hosted: [String: Set<String>] = [:]
        let nowMs = Self.milliseconds(time: replies[replies.count - 1])
        var reservations: Set<String> = []
        for (index, entry) in scores.enumerated() {
            let hash = RedisHash(replies[3 * index])
            guard let worker = WorkerSnapshot(pool: pool, processID: entry.processID, freeSlots: entry.freeSlots, hash: hash) else {
                continue
            }
            workers.append(worker)
            hosted[entry.processID] = Set(replies[3 * index + 1].array?.compactMap(\.string) ?? [])
            reservations.formUnion(Self.liveReservations(replies[3 * index + 2], nowMs: nowMs))
            // An older worker binary stamps no heartbeat_ms: fall back to its own clock.
            let beatMs = hash["heartbeat_ms"].flatMap(Int.init) ?? Timestamp.milliseconds(worker.lastHeartbeat)
            ages[entry.processID] = Double(max(0, nowMs - beatMs)) / 1000
        }
        var hashes: [String: String] = [:]
        for (offset, agentID) in pooled.enumerated() {
            if let processID = replies[3 * scores.count + offset].string { hashes[agentID] = processID }
        }
        // Agents a worker lists that the pool's set lost: their hashes too.
        let unlisted = Set(hosted.values.joined()).subtracting(pooled).sorted()
        if !unlisted.isEmpty {
            let more = try await redis.pipeline(unlisted.map { ["HGET", RedisKeys.agent($0), "process_id"] }).map(Self.checked)
            for (agentID, reply) in zip(unlisted, more) {
                if let processID = reply.string { hashes[agentID] = processID }
            }
        }
        return RegistrySnapshot(
            workers: workers, heartbeatAges: ages, placements: ReconcilePlan.Registry(hashes: hashes, hosted: hosted),
            reservations: reservations)
    }

    /// The members of a `ZRANGE … WITHSCORES` reply of `process:<id>:reserved` whose deadline
    /// (the score, in ms) is still ahead of Redis' clock.
    static func liveReservations(_ reply: RedisReply, nowMs: Int) -> [String] {
        let flat = reply.array ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).compactMap { index in
            guard let agentID = flat[index].string, let deadline = flat[index + 1].string.flatMap(Double.init),
                  deadline > Double(nowMs)
            else { return nil }
            return agentID
        }
    }

    /// A pipelined reply, or the error it carries thrown.
    private static func checked(_ reply: RedisReply) throws -> RedisReply {
        if case .error(let message) = reply { throw RedisError(.server, message) }
        return reply
    }

    /// Redis `TIME` (seconds, microseconds) in milliseconds.
    private static func milliseconds(time reply: RedisReply) -> Int {
        let parts = reply.array ?? []
        let seconds = parts.first?.int ?? 0
        let micros = parts.count > 1 ? parts[1].int ?? 0 : 0
        return seconds * 1000 + micros / 1000
    }
}
