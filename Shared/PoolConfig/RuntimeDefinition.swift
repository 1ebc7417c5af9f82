/// How a pool runs its agents' code (contract section 5, `runtime`): one value per kind.
public enum RuntimeDefinition: Sendable, Equatable {
    /// Code inside the worker, for trying things out, tests and benchmarks.
    case builtin(BuiltinRuntime)
    /// One child process per agent, speaking JSON lines on stdin and stdout.
    case exec(ExecRuntime)
    /// Each task `POST`ed to an endpoint.
    case http(HTTPRuntime)

    /// The default when neither the pool nor `defaults` names one.
    public static let standard = RuntimeDefinition.builtin(.echo)
}

/// The agents AgentPool brings along.
public enum BuiltinRuntime: String, Sendable, Equatable, CaseIterable {
    /// Output = input.
    case echo
    /// Sleeps `input.seconds`, then output = input.
    case sleep
    /// Fails with `input.message`, retryable when `input.retryable` is true.
    case fail
}

/// `runtime: {kind: exec, ...}`.
public struct ExecRuntime: Sendable, Equatable {
    /// The program and its arguments. A relative program path was resolved at load against
    /// `workingDirectory`, else the pool file's folder; a bare name is looked up on `PATH`.
    public var command: [String]
    /// The child's working directory. pool.yaml always sets it: `working_dir` (relative to
    /// the pool file's folder), else that folder. nil (definitions made in code): the
    /// worker's own directory.
    public var workingDirectory: String?
    /// Set in the child's environment.
    public var environment: [String: String]
    /// Names copied from the worker's environment (never AgentPool's own settings).
    public var environmentFrom: [String]
    /// Time the child has to answer `ready`.
    public var startTimeout: Duration

    public init(
        command: [String], workingDirectory: String? = nil, environment: [String: String] = [:],
        environmentFrom: [String] = [], startTimeout: Duration = .seconds(10)
    ) {
        self.command = command
        self.workingDirectory = workingDirectory
        self.environment = environment
        self.environmentFrom = environmentFrom
        self.startTimeout = startTimeout
    }
}

/// `runtime: {kind: http, url: ...}`.
public struct HTTPRuntime: Sendable, Equatable {
    /// `http://host[:port]/path` (plain HTTP; checked at load, see ``HTTPEndpoint``); the
    /// task is `POST`ed here.
    public var url: String

    public init(url: String) {
        self.url = url
    }
}
