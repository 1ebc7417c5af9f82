import AgentStore
import CoreMetrics
import Logging
import PoolProtocol
import Registry

extension PoolLeader {
    /// Tells the gateways that the waiting spawn requests cannot be placed, and deletes their
    /// rows so that a refused spawn leaves nothing behind. Only spawn requests that never ran
    /// are refused (and the store deletes a row only if it never ran); agents placed again
    /// after their worker died keep waiting, `pending`, and every pass retries them.
    func refuseWaiting(reason: String) async {
        let refused = waiting.filter(\.isSpawnRequest)
        waiting.removeAll(where: \.isSpawnRequest)
        var count = 0
        for entry in refused {
            let agentID = entry.spec.agentID
            do {
                guard try await store.deleteRefused(id: agentID, fence: epochFence) else {
                    // It ran meanwhile, or runs now: not a refusal any more. If it still needs a
                    // slot, the next pass finds its row.
                    continue
                }
                count += 1
                try await registry.publish(
                    .agentFailed(AgentFailed(processID: nil, agentID: agentID, reason: reason, retryable: true)), on: .events)
            } catch {
                failed(error, "Could not refuse a spawn; its gateway answers at its deadline", ["agent_id": "\(agentID)"])
                if isDeposed { return }
            }
        }
        metrics.refusals.increment(by: count)
        if count > 0 { logger.warning("Refused spawns: pool full", metadata: ["count": "\(count)"]) }
        let kept = waiting.count
        if kept > 0 {
            logger.debug("Agents that ran before wait for capacity", metadata: ["waiting": "\(kept)", "reason": "\(reason)"])
        }
    }
}
