#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

/// One worker as the registry shows it at a moment: its `process:<id>` hash plus its
/// free-slot score in `pool:<name>:processes`.
public struct WorkerSnapshot: Sendable, Hashable {
    public var processID: String
    public var poolName: String
    public var pid: Int
    public var host: String
    public var maxAgents: Int
    public var agentCount: Int
    /// The free-slot score: `max_agents` minus hosted agents minus live reservations.
    public var freeSlots: Int
    public var status: WorkerStatus
    public var startedAt: Date
    public var lastHeartbeat: Date

    public init(
        processID: String, poolName: String, pid: Int, host: String, maxAgents: Int, agentCount: Int,
        freeSlots: Int, status: WorkerStatus, startedAt: Date, lastHeartbeat: Date
    ) {
        self.processID = processID
        self.poolName = poolName
        self.pid = pid
        self.host = host
        self.maxAgents = maxAgents
        self.agentCount = agentCount
        self.freeSlots = freeSlots
        self.status = status
        self.startedAt = startedAt
        self.lastHeartbeat = lastHeartbeat
    }

    /// Slots taken by hosted agents and by reservations for spawns in flight.
    public var usedSlots: Int { max(0, maxAgents - max(0, freeSlots)) }

    /// The API's view of this worker.
    public var view: WorkerView {
        WorkerView(
            processID: processID, poolName: poolName, pid: pid, host: host, maxAgents: maxAgents,
            agentCount: agentCount, available: max(0, freeSlots), status: status.rawValue,
            startedAt: Timestamp.string(startedAt), lastHeartbeat: Timestamp.string(lastHeartbeat))
    }
}

/// Where a worker is in its life. Only `ready` workers receive new agents.
public enum WorkerStatus: String, Sendable, Hashable, CaseIterable {
    /// Registered and taking agents.
    case ready
    /// Leaving: taken out of placement, handing its agents over, then deregistering.
    case draining
}
