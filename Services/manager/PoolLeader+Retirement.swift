import CoreMetrics
import Logging
import PoolConfig
import PoolCore
import Registry

extension PoolLeader {
    /// Takes an idle worker out of placement, atomically only if it is still empty; the
    /// machine then sends it `retire_worker` (every pass until it leaves) and it deregisters
    /// and exits by itself.
    func beginRetirement(_ processID: String) async throws -> Bool {
        guard try await registry.beginRetirement(processID: processID, fence: fence) else { return false }
        metrics.retirements.increment()
        logger.info("Retiring idle worker", metadata: ["process_id": "\(processID)", "idle_timeout": "\(limits.idleTimeout)"])
        return true
    }
}
