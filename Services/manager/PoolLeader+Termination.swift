import AgentStore
import Logging
import PoolConfig
import PoolCore
import PoolProtocol
import Redis
import Registry

/// Stopping agents: the registry's placement first, the row's worker when the registry lost
/// the placement, and a stop nothing can carry out recorded as ended.
extension PoolLeader {
    /// Sends `stop_agent` to the worker the registry places the agent on (one script looks it
    /// up and publishes). When it places it nowhere, the row decides: already ended, or sent to
    /// the worker the machine last knew (`hint`) and the worker the row names, whichever of
    /// them is registered; neither registered means nothing can run the agent any more.
    func stop(_ agentID: String, hint: String?) async throws -> StopOutcome {
        switch try await registry.stopPlacedAgent(agentID, fence: fence) {
        case .sent(let processID): return .sent(processID: processID)
        case .notListening(let processID): return .notListening(processID: processID)
        case .notPlaced: break
        }
        guard let record = try await store.fetch(id: agentID), !record.status.isFinal else { return .alreadyEnded }
        var candidates: [String] = []
        for processID in [hint, record.processID].compactMap(\.self) where !candidates.contains(processID) {
            candidates.append(processID)
        }
        var sentTo: String?
        var notListening: String?
        for processID in candidates where try await isRegistered(processID) {
            let stop = StopAgent(targetProcessID: processID, epoch: epoch, agentID: agentID)
            if try await registry.publishCommand(.stopAgent(stop), fence: fence) > 0 {
                sentTo = sentTo ?? processID
            } else {
                notListening = processID
            }
        }
        if let sentTo {
            logger.warning(
                "Agent not placed in the registry; stop sent to the worker its row names",
                metadata: ["agent_id": "\(agentID)", "process_id": "\(sentTo)"])
            return .sent(processID: sentTo)
        }
        if let notListening { return .notListening(processID: notListening) }
        return .hostedNowhere
    }

    /// A stop no registered worker can carry out: the row is recorded `terminated` and, when it
    /// names a (gone) worker, that worker's rows are settled and `agent_stopped` announced to
    /// the waiting DELETE. A row naming no worker has nobody to name in an `agent_stopped`:
    /// the waiting DELETE reads the row instead.
    func recordTerminated(_ agentID: String) async throws {
        guard let record = try await store.fetch(id: agentID), !record.status.isFinal else { return }
        if let processID = record.processID, !(try await isRegistered(processID)) {
            try await settleRows(ofGoneWorker: processID)
        } else {
            try await store.terminateUnhosted(id: agentID, fence: epochFence)
        }
    }

    /// Whether the worker is registered (`process:<id>` exists).
    func isRegistered(_ processID: String) async throws -> Bool {
        try await registry.isRegistered(processID)
    }
}
