/// Gateway to the worker hosting the task's agent, on `process:<id>:commands`: a cancel was
/// recorded for this running task; tell the agent. A lost one costs only time: the worker
/// also finds recorded cancels of its running tasks when it sweeps PostgreSQL, and the
/// gateway ends the task itself when the grace period runs out.
public struct CancelTask: Sendable, Codable, Hashable {
    public var targetProcessID: String
    public var agentID: String
    public var taskID: String

    public init(targetProcessID: String, agentID: String, taskID: String) {
        self.targetProcessID = targetProcessID
        self.agentID = agentID
        self.taskID = taskID
    }

    enum CodingKeys: String, CodingKey {
        case targetProcessID = "target_process_id"
        case agentID = "agent_id"
        case taskID = "task_id"
    }
}

/// Worker or gateway to the gateways, on `pool:<name>:task_updates`: the task recorded a new
/// event (its id `event_id`, its status now `status`). A wake-up for `?wait` and event
/// streams, sent after the commit; waiters read PostgreSQL and poll it too, so a lost one
/// costs time, never an answer. A worker's outcome also carries the task's `ending`, which a
/// `?wait` answers from without reading the row.
public struct TaskUpdated: Sendable, Codable, Hashable {
    public var agentID: String
    public var taskID: String
    public var status: TaskStatus
    public var eventID: Int
    /// Only with a final `status`.
    public var ending: TaskEnding?

    public init(agentID: String, taskID: String, status: TaskStatus, eventID: Int, ending: TaskEnding? = nil) {
        self.agentID = agentID
        self.taskID = taskID
        self.status = status
        self.eventID = eventID
        self.ending = ending
    }

    enum CodingKeys: String, CodingKey {
        case agentID = "agent_id"
        case taskID = "task_id"
        case status
        case eventID = "event_id"
        case ending
    }
}
