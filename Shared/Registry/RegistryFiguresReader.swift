#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolCore
import PoolProtocol
import Redis

/// What the registry showed of one pool at one moment.
public struct RegistryFigures: Sendable {
    public let pool: String
    /// In `pool:<name>:processes` order; workers whose hash vanished meanwhile are left out.
    public let workers: [WorkerSnapshot]
    /// The size of `pool:<name>:agents`.
    public let agentCount: Int
    /// The leader's figure, when it published one.
    public let desiredWorkers: Int?
    /// When the reading ended, for the heartbeat ages.
    public let readAt: Date
}

/// Reads the figures of any number of pools in two Redis round trips: one pipeline of
/// `ZRANGE … WITHSCORES`, `SCARD` and `HGET desired_workers` per pool, then one pipeline of
/// every worker's `HGETALL`.
public struct RegistryFiguresReader: Sendable {
    private let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    public func read(_ pools: [String]) async throws -> [RegistryFigures] {
        guard !pools.isEmpty else { return [] }
        let firsts = try await redis.pipeline(pools.flatMap { pool in
            [
                ["ZRANGE", RedisKeys.poolProcesses(pool), "0", "-1", "WITHSCORES"],
                ["SCARD", RedisKeys.poolAgents(pool)],
                ["HGET", RedisKeys.poolState(pool), "desired_workers"],
            ]
        }).map(Self.checked)
        let scores = pools.indices.map { WorkerReplies.scores(firsts[3 * $0]) }
        let processIDs = scores.flatMap { $0.map(\.processID) }
        let hashes = try await redis.pipeline(processIDs.map { ["HGETALL", RedisKeys.process($0)] }).map(Self.checked)
        let readAt = Date()
        var next = hashes.makeIterator()
        return pools.enumerated().map { index, pool in
            let workers = scores[index].compactMap { entry in
                next.next().flatMap { WorkerReplies.worker(pool: pool, processID: entry.processID, freeSlots: entry.freeSlots, hash: $0) }
            }
            return RegistryFigures(
                pool: pool, workers: workers, agentCount: firsts[3 * index + 1].int ?? 0,
                desiredWorkers: firsts[3 * index + 2].int, readAt: readAt)
        }
    }

    /// An error reply fails the whole reading, as a single `send` would have.
    private static func checked(_ reply: RedisReply) throws -> RedisReply {
        if case .error(let message) = reply { throw RedisError(.server, message) }
        return reply
    }
}
