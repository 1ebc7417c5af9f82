/// Every message AgentPool services exchange over Redis. On the wire each is one line of
/// JSON: `{"v":1,"type":"<type>","message_id":"<uuid>", ...fields of the type}`
/// (see `docs/protocol.md`, and `MessageCodec` for encoding and strict decoding).
public enum PoolMessage: Sendable, Hashable {
    // pool:<name>:requests (gateway → manager)
    case placeAgent(PlaceAgent)
    case terminateAgent(TerminateAgent)
    // process:<id>:commands (manager → one worker; also obeyed on pool:<name>:commands)
    case startAgent(StartAgent)
    case stopAgent(StopAgent)
    case retireWorker(RetireWorker)
    // pool:<name>:events (worker/manager → manager, gateway)
    case workerRegistered(WorkerEvent)
    case workerStopping(WorkerEvent)
    case agentStarted(AgentEvent)
    case agentStopped(AgentEvent)
    case agentFailed(AgentFailed)
    // process:<id>:commands (gateway → the worker hosting the task's agent)
    case cancelTask(CancelTask)
    // pool:<name>:task_updates (worker or gateway → gateways waiting on the task)
    case taskUpdated(TaskUpdated)

    /// The wire name in the `type` field.
    public var type: MessageType {
        switch self {
        case .placeAgent: .placeAgent
        case .terminateAgent: .terminateAgent
        case .startAgent: .startAgent
        case .stopAgent: .stopAgent
        case .retireWorker: .retireWorker
        case .workerRegistered: .workerRegistered
        case .workerStopping: .workerStopping
        case .agentStarted: .agentStarted
        case .agentStopped: .agentStopped
        case .agentFailed: .agentFailed
        case .cancelTask: .cancelTask
        case .taskUpdated: .taskUpdated
        }
    }

    /// For commands meant for one worker: that worker's process id.
    public var targetProcessID: String? {
        switch self {
        case .startAgent(let command): command.targetProcessID
        case .stopAgent(let command): command.targetProcessID
        case .retireWorker(let command): command.targetProcessID
        case .cancelTask(let command): command.targetProcessID
        default: nil
        }
    }
}

/// The `type` field of a message.
public enum MessageType: String, Sendable, Codable, CaseIterable {
    case placeAgent = "place_agent"
    case terminateAgent = "terminate_agent"
    case startAgent = "start_agent"
    case stopAgent = "stop_agent"
    case retireWorker = "retire_worker"
    case workerRegistered = "worker_registered"
    case workerStopping = "worker_stopping"
    case agentStarted = "agent_started"
    case agentStopped = "agent_stopped"
    case agentFailed = "agent_failed"
    case cancelTask = "cancel_task"
    case taskUpdated = "task_updated"
}
