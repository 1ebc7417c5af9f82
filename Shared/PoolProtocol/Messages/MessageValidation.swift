/// Checks that go beyond JSON types: ids must be canonical UUIDs (they become Redis keys),
/// names must be the pool-name shape, epochs non-negative. A message that fails is dropped
/// like a malformed one.
enum MessageValidation {
    static func validate(_ message: PoolMessage) throws(MessageDecodingError) {
        switch message {
        case .placeAgent(let body): try validate(body.agent)
        case .terminateAgent(let body): try id(body.agentID, "agent_id")
        case .startAgent(let body):
            try id(body.targetProcessID, "target_process_id")
            try epoch(body.epoch)
            try validate(body.agent)
        case .stopAgent(let body):
            try id(body.targetProcessID, "target_process_id")
            try epoch(body.epoch)
            try id(body.agentID, "agent_id")
        case .retireWorker(let body):
            try id(body.targetProcessID, "target_process_id")
            try epoch(body.epoch)
        case .workerRegistered(let body), .workerStopping(let body): try id(body.processID, "process_id")
        case .agentStarted(let body), .agentStopped(let body):
            try id(body.processID, "process_id")
            try id(body.agentID, "agent_id")
            // A gateway may put it into an API answer as it is.
            if let updatedAt = body.updatedAt, Timestamp.date(updatedAt) == nil {
                throw MessageDecodingError("invalid field updated_at")
            }
        case .agentFailed(let body):
            if let processID = body.processID { try id(processID, "process_id") }
            try id(body.agentID, "agent_id")
        case .cancelTask(let body):
            try id(body.targetProcessID, "target_process_id")
            try id(body.agentID, "agent_id")
            try id(body.taskID, "task_id")
        case .taskUpdated(let body):
            try id(body.agentID, "agent_id")
            try id(body.taskID, "task_id")
            guard body.eventID >= 0 else { throw MessageDecodingError("invalid field event_id") }
            if let ending = body.ending { try validate(ending, status: body.status) }
        }
    }

    private static func validate(_ agent: AgentSpec) throws(MessageDecodingError) {
        try id(agent.agentID, "agent.agent_id")
        guard PoolName.isValid(agent.poolName) else { throw MessageDecodingError("invalid field agent.pool_name") }
    }

    /// A gateway answers an ending as the task: it must describe a final task.
    private static func validate(_ ending: TaskEnding, status: TaskStatus) throws(MessageDecodingError) {
        guard status.isFinal else { throw MessageDecodingError("invalid field ending: the status is not final") }
        guard ending.attempt >= 0 else { throw MessageDecodingError("invalid field ending.attempt") }
    }

    private static func id(_ value: String, _ field: String) throws(MessageDecodingError) {
        guard Identifier.canonical(value) == value else { throw MessageDecodingError("invalid field \(field)") }
    }

    private static func epoch(_ value: Int) throws(MessageDecodingError) {
        guard value >= 0 else { throw MessageDecodingError("invalid field epoch") }
    }
}
