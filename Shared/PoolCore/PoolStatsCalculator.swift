#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

/// Computes the API's `PoolStats` from the live registry, the pure part of
/// `GET /api/v1/agents/pools`.
public enum PoolStatsCalculator {
    /// Figures for one pool. `agentCount` is the size of `pool:<name>:agents`;
    /// `desiredWorkers` is the leader's figure when one is published, else computed here.
    public static func stats(
        limits: PoolLimits, workers: [WorkerSnapshot], agentCount: Int, desiredWorkers: Int?,
        now: Date, includeWorkers: Bool
    ) -> PoolStats {
        let total = workers.reduce(0) { $0 + $1.maxAgents }
        let used = workers.reduce(0) { $0 + $1.usedSlots }
        let active = workers.filter {
            !Liveness.isStale(lastHeartbeat: $0.lastHeartbeat, now: now, staleAfter: limits.staleAfter)
        }.count
        let desired = desiredWorkers ?? ScalingPolicy.desiredWorkers(agentsWanted: used, limits: limits)
        return PoolStats(
            poolName: limits.poolName,
            role: limits.role,
            processCount: workers.count,
            totalCapacity: total,
            usedCapacity: used,
            availableCapacity: max(0, total - used),
            agentCount: agentCount,
            utilization: total == 0 ? 0 : Double(used) / Double(total),
            activeWorkerProcesses: active,
            maxAgentsPerProcess: limits.maxAgentsPerProcess,
            minWorkers: limits.minWorkers,
            maxWorkers: limits.maxWorkers,
            desiredWorkers: desired,
            workers: includeWorkers ? workers.sorted { $0.startedAt < $1.startedAt }.map(\.view) : nil)
    }
}
