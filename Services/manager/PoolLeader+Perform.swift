import AgentStore
import CoreMetrics
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import PoolCore
import PoolProtocol
import Registry

extension PoolLeader {
    /// Performs one action with the existing fenced call and returns its reply, if the action
    /// has one. A failure becomes the reply's `.failed` (the machine retries); a fenced
    /// refusal deposes this leader at once, so that not one further action of the batch runs.
    func perform(_ action: LeaderAction) async -> LeaderEvent? {
        precondition(action.epoch == epoch, "an action of another leadership reached this driver")
        do {
            return try await performOrThrow(action.kind)
        } catch where error is LeaseLost || error is LeadershipLost {
            depose(because: error)
            return nil
        } catch {
            logger.warning("Leader action failed; it is tried again", metadata: ["action": "\(action.kind)", "error": "\(error)"])
            return Self.failedReply(to: action.kind)
        }
    }

    private func performOrThrow(_ kind: LeaderAction.Kind) async throws -> LeaderEvent? {
        switch kind {
        case .readSnapshot:
            return .snapshotRead(try await readSnapshot())
        case .reserveAndStart(let spec):
            return .reserveFinished(agentID: spec.agentID, try await reserveAndStart(spec))
        case .launch(let count):
            return .launchFinished(await launch(count))
        case .abandonLaunch(let processID):
            await launcher?.abandon(processID)
            return nil
        case .heal(let processID, let onlyIfStale):
            return .healFinished(processID: processID, try await heal(processID, onlyIfStale: onlyIfStale))
        case .refuse(let agentID, let reason):
            try await refuse(agentID, reason: reason)
            return nil
        case .stop(let agentID, let processID):
            return .stopFinished(agentID: agentID, try await stop(agentID, hint: processID))
        case .recordTerminated(let agentID):
            try await recordTerminated(agentID)
            return nil
        case .releaseOrphan(let agentID, let processID):
            if try await registry.releaseOrphan(agentID: agentID, processID: processID, fence: fence) {
                metrics.reconcileRepairs.increment()
            }
            return nil
        case .beginRetirement(let processID):
            return .retirementBegun(processID: processID, accepted: try await beginRetirement(processID))
        case .retire(let processID):
            try await registry.publishCommand(.retireWorker(RetireWorker(targetProcessID: processID, epoch: epoch)), fence: fence)
            return nil
        case .publishDesiredWorkers(let desired):
            metrics.desiredWorkers.record(desired)
            try await registry.publishState(desiredWorkers: desired, fence: fence)
            return nil
        case .stepDown:
            return nil
        }
    }

    /// The reply an action gets when its I/O failed (nil: the action has no reply).
    static func failedReply(to kind: LeaderAction.Kind) -> LeaderEvent? {
        switch kind {
        case .readSnapshot: .snapshotFailed
        case .reserveAndStart(let spec): .reserveFinished(agentID: spec.agentID, .failed)
        case .launch(let count): .launchFinished(LaunchOutcome(requested: count, started: []))
        case .heal(let processID, _): .healFinished(processID: processID, .failed)
        case .beginRetirement(let processID): .retirementBegun(processID: processID, accepted: false)
        case .stop(let agentID, _): .stopFinished(agentID: agentID, .failed)
        case .abandonLaunch, .refuse, .recordTerminated, .releaseOrphan, .retire, .publishDesiredWorkers, .stepDown: nil
        }
    }

    /// A fence refused this leader (another manager leads now): the machine steps down, and
    /// the loop ends before anything else is performed.
    func depose(because reason: any Error) {
        guard machine.isLeading else { return }
        logger.warning("Fenced: another manager leads the pool; stepping down", metadata: ["reason": "\(reason)"])
        _ = machine.handle(.leadershipLost, at: .now)
    }
}
