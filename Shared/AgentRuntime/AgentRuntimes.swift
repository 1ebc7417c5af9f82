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
        switch definition {
        case .builtin(let kind):
            return BuiltinAgentRuntime(kind)
        case .exec(let exec):
            return ExecAgentRuntime(definition: exec, agent: agent, environment: environment, logger: logger)
        case .http(let http):
            return HTTPAgentRuntime(definition: http, agent: agent)
        }
    }
}
