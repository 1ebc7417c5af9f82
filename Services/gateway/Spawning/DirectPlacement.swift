import Metrics
import PoolProtocol
import Registry
import Synchronization

/// The common path of a spawn without the manager hop: the gateway reserves a free slot and
/// sends `start_agent` itself (`PoolRegistry.placeFromGateway`), with the pool's current
/// leadership epoch, remembered per pool here and learnt again from the script's answer
/// when a new leadership began. Only what needs judgment goes to the leading manager.
final class DirectPlacement: Sendable {
    /// What the spawn does next.
    enum Outcome: Sendable, Equatable {
        /// A worker got `start_agent`: wait for its confirmation.
        case placed
        /// Every slot is taken, or the epoch is unknown: ask the leading manager.
        case askManager
        /// No manager holds the pool's lease.
        case noLeader
    }

    private let epochs = Mutex<[String: Int]>([:])

    /// Tries to place `spec` on a worker with a free slot; one retry when the epoch moved.
    func place(_ spec: AgentSpec, on registry: PoolRegistry) async throws -> Outcome {
        let known = epochs.withLock { $0[registry.pool] } ?? 0
        var outcome = try await registry.placeFromGateway(spec, epoch: known)
        if case .epochMoved(let current) = outcome {
            // 0: Redis lost `pool:<name>:epoch` and the leader has not written it again yet.
            guard current > 0 else { return count(.askManager, registry.pool) }
            epochs.withLock { $0[registry.pool] = current }
            outcome = try await registry.placeFromGateway(spec, epoch: current)
        }
        switch outcome {
        case .placed: return count(.placed, registry.pool)
        case .noLeader: return .noLeader
        case .noFreeSlot, .epochMoved: return count(.askManager, registry.pool)
        }
    }

    private func count(_ outcome: Outcome, _ pool: String) -> Outcome {
        Counter(label: "agentpool_spawn_placements_total", dimensions: [("pool", pool), ("by", outcome == .placed ? "gateway" : "manager")])
            .increment()
        return outcome
    }
}
