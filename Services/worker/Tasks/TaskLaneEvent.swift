import AgentRuntime
import Registry
import TaskStore

/// What a lane handles, one at a time, in the order it arrived.
enum TaskLaneEvent: Sendable {
    /// Entries read from the agent's stream.
    case delivered([TaskDelivery])
    /// The agent's unfinished tasks as PostgreSQL holds them (a sweep).
    case swept([TaskRecord])
    /// The agent's code said something.
    case runtime(RuntimeEvent)
    /// An attempt ran out of time.
    case timedOut(taskID: String, attempt: Int)
    /// A backoff ended, or a write that failed may be tried again.
    case wake
    /// A cancel was recorded for a task running here.
    case cancel(taskID: String)
    /// The lane ends.
    case stop(TaskLaneStop)
}

/// How a lane ends.
enum TaskLaneStop: Sendable {
    /// The agent was terminated: its tasks were cancelled with it; the code just stops.
    case terminate
    /// The worker leaves: attempts in flight get a short while to finish, the rest is handed
    /// back without counting as an attempt, so the agent's next host runs them.
    case handOver(grace: Duration)
    /// The worker lost its place (fenced, declared dead): the code stops at once and nothing
    /// is written; the agent's next host settles the attempts as lost.
    case abandon
}
