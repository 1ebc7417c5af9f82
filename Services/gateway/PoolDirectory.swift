import Foundation
import PoolConfig
import PoolCore
import PoolProtocol
import Redis
import Registry
import ServiceSupport

/// The pools of the pool file and their live figures from the registry.
struct PoolDirectory: Sendable {
    let pools: [PoolDefinition]
    let registries: [String: PoolRegistry]

    func definition(_ name: String) throws -> PoolDefinition {
        guard let pool = pools.first(where: { $0.name == name }) else {
            throw APIError.notFound("pool_not_found", "No pool named `\(name.prefix(64))`.")
        }
        return pool
    }

    /// `PoolStats` of one pool, with its workers when `includeWorkers`.
    func stats(_ pool: PoolDefinition, includeWorkers: Bool) async throws -> PoolStats {
        let registry = registries[pool.name]!
        async let workers = registry.workers()
        async let agentCount = registry.agentCount()
        async let state = registry.redis.send("HGET", RedisKeys.poolState(pool.name), "desired_workers")
        return PoolStatsCalculator.stats(
            limits: PoolLimits(pool), workers: try await workers, agentCount: try await agentCount,
            desiredWorkers: try await state.int, now: Date(), includeWorkers: includeWorkers)
    }

    /// Workers of every pool (or of one).
    func workers(pool: String?) async throws -> [WorkerView] {
        var views: [WorkerView] = []
        for definition in pools where pool == nil || definition.name == pool {
            views += try await registries[definition.name]!.workers().map(\.view)
        }
        return views
    }
}
