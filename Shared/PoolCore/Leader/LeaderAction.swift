import PoolProtocol

/// One thing the leader's driver must do, stamped with the leadership epoch that decided it,
/// so that every write and command can be fenced: a deposed leader's late action is refused.
public struct LeaderAction: Sendable, Hashable {
    /// The leadership that decided this action.
    public var epoch: Int
    public var kind: Kind

    public init(epoch: Int, _ kind: Kind) {
        self.epoch = epoch
        self.kind = kind
    }

    /// The actions, each one call of today's `PoolRegistry`, `AgentStore` or launcher.
    /// Those marked "reply" are answered by the `LeaderEvent` of the same name.
    public enum Kind: Sendable, Hashable {
        /// Start a reconcile pass: read placements, then workers, then rows (reply
        /// `snapshotRead` or `snapshotFailed`).
        case readSnapshot
        /// Reserve a slot and send `start_agent` in one script (reply `reserveFinished`). The
        /// reservation's deadline in Redis is `startTimeout` from now.
        case reserveAndStart(AgentSpec)
        /// Start `count` workers (reply `launchFinished`); only with `launcher: process`.
        case launch(count: Int)
        /// A launched worker never registered: kill it, it no longer counts as capacity.
        case abandonLaunch(processID: String)
        /// Declare a worker dead: kill it if it is a child, remove its registry entries and
        /// mark its agents' rows unplaced (reply `healFinished`). With `onlyIfStale` (a heal
        /// for heartbeat age, not a process exit) the script first checks that the heartbeat is
        /// still older than `stale_after`, so that a worker that just resumed keeps its agents
        /// instead of running them beside their replacements.
        case heal(processID: String, onlyIfStale: Bool)
        /// Refuse a fresh spawn that was never confirmed: delete its row and publish
        /// `agent_failed` (retryable, no process id).
        case refuse(agentID: String, reason: String)
        /// Send `stop_agent` to the worker the registry places the agent on; when it places
        /// it nowhere, to `processID` (what the leader last knew) or the worker its row names
        /// (reply `stopFinished`).
        case stop(agentID: String, processID: String?)
        /// A stop nothing can carry out any more: record the agent terminated and publish
        /// `agent_stopped` for it.
        case recordTerminated(agentID: String)
        /// Clear the registry entry of an agent whose worker is gone (only if it still is).
        case releaseOrphan(agentID: String, processID: String)
        /// Take an idle worker out of placement, atomically only if still empty (reply
        /// `retirementBegun`).
        case beginRetirement(processID: String)
        /// Send `retire_worker` to a draining worker (repeated every pass until it leaves).
        case retire(processID: String)
        /// Publish `desired_workers` in `pool:<name>:state`.
        case publishDesiredWorkers(Int)
        /// Stop leading: end this leadership's tasks. Nothing follows it.
        case stepDown
    }
}
