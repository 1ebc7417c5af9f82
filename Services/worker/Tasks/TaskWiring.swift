import AgentRuntime
import Logging
import PoolConfig
import PoolProtocol
import Registry
import TaskStore

/// What the worker's agent host needs to run tasks: the tasks' store and queue, the stream
/// reader, and the pool's runtime and task settings.
struct TaskWiring: Sendable {
    /// How long attempts in flight may finish when the worker leaves before they are handed
    /// back (kept short: an orchestrator's SIGKILL follows SIGTERM after about 10 s).
    static let handOverGrace = Duration.seconds(5)

    let processID: String
    let definition: PoolDefinition
    let store: TaskStore
    let queue: TaskQueue
    let feed: TaskFeed
    let metrics: TaskMetrics
    /// The worker's own environment, where a runtime's `env_from` names are read.
    let environment: [String: String]

    func makeRuntime(_ agent: AgentSpec, _ logger: Logger) -> any AgentRuntime {
        AgentRuntimes.make(definition.runtime, agent: agent, environment: environment, logger: logger)
    }

    func makeLane(
        _ agent: AgentSpec, _ runtime: any AgentRuntime, _ logger: Logger, takesOver: Bool,
        onFailure: @escaping @Sendable (String) async -> Void
    ) -> AgentTaskLane {
        AgentTaskLane(
            agent: agent, processID: processID, runtime: runtime, concurrency: definition.tasks.taskConcurrency,
            store: store, queue: queue, metrics: metrics, logger: logger, takesOver: takesOver, onFailure: onFailure)
    }
}
