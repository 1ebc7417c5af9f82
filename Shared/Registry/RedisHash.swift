#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolCore
import PoolProtocol
import Redis

/// The field/value pairs of an `HGETALL` reply.
struct RedisHash {
    let fields: [String: String]

    init(_ reply: RedisReply) {
        var fields: [String: String] = [:]
        let flat = reply.array ?? []
        for index in stride(from: 0, to: flat.count - 1, by: 2) {
            if let key = flat[index].string, let value = flat[index + 1].string { fields[key] = value }
        }
        self.fields = fields
    }

    subscript(_ key: String) -> String? { fields[key] }
}

/// How the registry's replies about workers read, for every reader of the registry (the
/// leader's `PoolRegistry.workers()` and the gateway's pipelined pool figures).
enum WorkerReplies {
    /// The members of a `ZRANGE pool:<name>:processes 0 -1 WITHSCORES` reply with their
    /// free-slot scores.
    static func scores(_ reply: RedisReply) -> [(processID: String, freeSlots: Int)] {
        let flat = reply.array ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).compactMap { index in
            flat[index].string.map { ($0, Int(Double(flat[index + 1].string ?? "0") ?? 0)) }
        }
    }

    /// A worker from its `HGETALL process:<id>` reply, or nil when the hash is gone or
    /// unreadable (a worker being removed at this very moment).
    static func worker(pool: String, processID: String, freeSlots: Int, hash reply: RedisReply) -> WorkerSnapshot? {
        WorkerSnapshot(pool: pool, processID: processID, freeSlots: freeSlots, hash: RedisHash(reply))
    }
}

extension WorkerSnapshot {
    /// A snapshot from a `process:<id>` hash, or nil when the hash is gone or unreadable
    /// (a worker being removed at this very moment).
    init?(pool: String, processID: String, freeSlots: Int, hash: RedisHash) {
        guard !hash.fields.isEmpty,
              let maxAgents = hash["max_agents"].flatMap(Int.init),
              let startedAt = hash["started_at"].flatMap(Timestamp.date),
              let lastHeartbeat = hash["last_heartbeat"].flatMap(Timestamp.date)
        else { return nil }
        self.init(
            processID: processID, poolName: pool, pid: hash["pid"].flatMap(Int.init) ?? 0,
            host: hash["host"] ?? "", maxAgents: maxAgents,
            agentCount: hash["agent_count"].flatMap(Int.init) ?? 0, freeSlots: freeSlots,
            status: hash["status"].flatMap(WorkerStatus.init(rawValue:)) ?? .draining,
            startedAt: startedAt, lastHeartbeat: lastHeartbeat)
    }
}
