import AgentRuntime
import PoolProtocol

/// One agent living in this worker: its code (the pool's runtime) and the lane that runs its
/// tasks, isolated from every other agent.
final class HostedAgent: Sendable {
    let spec: AgentSpec
    let lane: AgentTaskLane
    private let running: Task<Void, Never>

    /// Starts the lane; the code was started (and answered `ready`) before.
    init(spec: AgentSpec, lane: AgentTaskLane) {
        self.spec = spec
        self.lane = lane
        running = Task { await lane.run() }
    }

    /// Ends the lane and the code as `how` says; returns once both stopped.
    func stop(_ how: TaskLaneStop) async {
        lane.stop(how)
        await running.value
    }
}
