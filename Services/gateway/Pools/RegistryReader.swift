#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolConfig
import PoolCore
import PoolProtocol
import Registry
import ServiceSupport

/// What the registry showed of one pool at one moment.
struct PoolReading: Sendable {
    let definition: PoolDefinition
    /// In `pool:<name>:processes` order; workers whose hash vanished meanwhile are left out.
    let workers: [WorkerSnapshot]
    /// The size of `pool:<name>:agents`.
    let agentCount: Int
    /// The leader's figure, when it published one.
    let desiredWorkers: Int?
    /// When the reading ended, for the heartbeat ages.
    let readAt: Date

    /// The pool's `PoolStats`, with its workers when `includeWorkers`.
    func stats(includeWorkers: Bool) -> PoolStats {
        PoolStatsCalculator.stats(
            limits: PoolLimits(definition), workers: workers, agentCount: agentCount, desiredWorkers: desiredWorkers,
            now: readAt, includeWorkers: includeWorkers)
    }
}

/// Reads the figures of the gateway's pools from the registry (`RegistryFiguresReader`, two
/// pipelined round trips for any number of pools) and pairs them with their definitions.
struct RegistryReader: Sendable {
    let figures: RegistryFiguresReader

    func read(_ pools: [PoolDefinition]) async throws -> [PoolReading] {
        let read = try await figures.read(pools.map(\.name))
        return zip(pools, read).map { pool, figures in
            PoolReading(
                definition: pool, workers: figures.workers, agentCount: figures.agentCount,
                desiredWorkers: figures.desiredWorkers, readAt: figures.readAt)
        }
    }
}
