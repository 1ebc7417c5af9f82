#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

/// One agent living in this worker: an actor with its own identity, name, metadata and
/// status. AgentPool hosts agents; what an agent does is the application's, so this actor
/// is where that work would run, isolated from every other agent.
actor HostedAgent {
    let spec: AgentSpec
    private(set) var status: AgentStatus = .starting
    let startedAt = Date()

    init(spec: AgentSpec) {
        self.spec = spec
    }

    /// The agent runs.
    func markRunning() { status = .running }

    /// The agent stops; it will not run again in this worker.
    func stop() { status = .terminated }
}
