import Logging
import PoolConfig
import PoolProtocol

/// Makes the runtime a pool's definition names, for one agent.
public enum AgentRuntimes {
    /// - Parameters:
    ///   - environment: the worker's environment, where `env_from` names are copied from.
    public static func make(
        _ definition: RuntimeDefinition, agent: AgentSpec, environment: [String: String], logger: Logger
    ) -> any AgentRuntime {
        fatalError("skeleton")
    }
}
