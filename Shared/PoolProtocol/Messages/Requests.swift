/// Gateway to manager, on `pool:<name>:requests`: an agent recorded in PostgreSQL with desired
/// state `running` should be placed now. The leader answers through the worker's
/// `agent_started` (or an `agent_failed`) on the events channel. Losing this message only
/// delays the agent until the manager's next reconcile pass.
public struct PlaceAgent: Sendable, Codable, Hashable {
    public var agent: AgentSpec
    public init(agent: AgentSpec) { self.agent = agent }
}

/// Gateway to manager, on `pool:<name>:requests`: the agent's desired state became
/// `terminated` in PostgreSQL; stop it wherever it runs.
public struct TerminateAgent: Sendable, Codable, Hashable {
    public var agentID: String
    public init(agentID: String) { self.agentID = agentID }
    enum CodingKeys: String, CodingKey { case agentID = "agent_id" }
}
