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
        make(definition, agent: agent, environment: environment, logger: logger, exec: ExecRuntimeOptions(), http: HTTPRuntimeOptions())
    }

    /// The same, with the limits pool.yaml does not set (cancel grace, stop grace, restart
    /// backoff, request timeout) given explicitly, e.g. by tests that shorten them.
    public static func make(
        _ definition: RuntimeDefinition, agent: AgentSpec, environment: [String: String], logger: Logger,
        exec: ExecRuntimeOptions, http: HTTPRuntimeOptions
    ) -> any AgentRuntime {
        switch definition {
        case .builtin(let kind):
            return BuiltinAgentRuntime(kind)
        case .exec(let definition):
            return ExecAgentRuntime(definition: definition, agent: agent, environment: environment, logger: logger, options: exec)
        case .http(let definition):
            return HTTPAgentRuntime(definition: definition, agent: agent, options: http)
        }
    }
}
