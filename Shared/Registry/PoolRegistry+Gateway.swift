#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolCore
import PoolProtocol
import Redis

/// What the gateway's own placement did (`GatewayScripts.place`).
public enum GatewayPlacement: Sendable, Hashable {
    /// A slot on `processID` is reserved for the agent and the worker got `start_agent`.
    case placed(processID: String)
    /// No listening worker has a free slot: the leading manager decides (scale up, queue,
    /// refuse).
    case noFreeSlot
    /// No manager holds the pool's lease.
    case noLeader
    /// The pool's leadership epoch is `current` (0: unknown, the key is missing), not the one
    /// the command carried; nothing changed.
    case epochMoved(current: Int)
}

extension PoolRegistry {
    /// Places a fresh spawn on the ready worker with the most free slots, if a manager leads
    /// the pool (and listens) and `epoch` is the pool's current one, in one atomic script (see
    /// `GatewayScripts`). The reservation expires at `now + reservation` unless the worker
    /// claims the agent first, as a leader's does. The command says the agent is new: its row
    /// was just created, so the worker reads no checkpoint before starting it.
    public func placeFromGateway(
        _ agent: AgentSpec, epoch: Int, reservation: Duration = LeaderTuning.defaultStartTimeout, now: Date = Date()
    ) async throws -> GatewayPlacement {
        let (prefix, suffix) = Self.split { .startAgent(StartAgent(targetProcessID: $0, epoch: epoch, agent: agent, isNew: true)) }
        let deadline = now.addingTimeInterval(reservation / .seconds(1))
        let reply = try await redis.evalScript(
            GatewayScripts.place,
            keys: [RedisKeys.poolProcesses(pool)],
            arguments: [
                agent.agentID, pool, String(Timestamp.milliseconds(now)), String(Timestamp.milliseconds(deadline)),
                prefix, suffix, String(epoch), RedisKeys.poolLeader(pool), RedisKeys.poolEpoch(pool), RedisKeys.poolRequests(pool),
            ])
        switch reply {
        case .bulk where reply.string != nil: return .placed(processID: reply.string!)
        case .integer(GatewayScripts.noFreeSlot): return .noFreeSlot
        case .integer(GatewayScripts.noLeader): return .noLeader
        case .array(let parts) where parts.count == 2 && parts[0] == .integer(GatewayScripts.epochMoved):
            return .epochMoved(current: parts[1].int ?? 0)
        default: throw RedisError(.protocolViolation, "the gateway's placement answered \(reply)")
        }
    }
}
