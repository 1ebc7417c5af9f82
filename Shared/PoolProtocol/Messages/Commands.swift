/// Manager to one worker, on its channel `process:<id>:commands`: start hosting this agent in
/// the slot reserved for it. Repeating it is harmless: a worker that already hosts the agent
/// announces it again.
public struct StartAgent: Sendable, Codable, Hashable {
    public var targetProcessID: String
    /// The sender's leadership epoch; workers ignore commands older than the newest they saw.
    public var epoch: Int
    public var agent: AgentSpec
    /// True when the sender created the agent's row for this very placement (a spawn the
    /// gateway places itself): the agent never ran, so it has no checkpoint to read before
    /// its code starts. A hint, absent from other senders: the worker's running record says
    /// whether the agent really never ran (`first_start`), and a worker that learns otherwise
    /// there reads the checkpoint after all.
    public var isNew: Bool?

    public init(targetProcessID: String, epoch: Int, agent: AgentSpec, isNew: Bool? = nil) {
        self.targetProcessID = targetProcessID
        self.epoch = epoch
        self.agent = agent
        self.isNew = isNew
    }

    enum CodingKeys: String, CodingKey {
        case targetProcessID = "target_process_id"
        case epoch
        case agent
        case isNew = "new"
    }
}

/// Manager to one worker, on its channel `process:<id>:commands`: stop this agent and forget it.
/// Repeating it is harmless: a worker that does not host the agent announces it stopped.
public struct StopAgent: Sendable, Codable, Hashable {
    public var targetProcessID: String
    public var epoch: Int
    public var agentID: String

    public init(targetProcessID: String, epoch: Int, agentID: String) {
        self.targetProcessID = targetProcessID
        self.epoch = epoch
        self.agentID = agentID
    }

    enum CodingKeys: String, CodingKey {
        case targetProcessID = "target_process_id"
        case epoch
        case agentID = "agent_id"
    }
}

/// Manager to one worker, on its channel `process:<id>:commands`: the worker was taken out of
/// placement because it stayed empty; it deregisters and exits. Only that worker, never the pool.
public struct RetireWorker: Sendable, Codable, Hashable {
    public var targetProcessID: String
    public var epoch: Int

    public init(targetProcessID: String, epoch: Int) {
        self.targetProcessID = targetProcessID
        self.epoch = epoch
    }

    enum CodingKeys: String, CodingKey {
        case targetProcessID = "target_process_id"
        case epoch
    }
}
