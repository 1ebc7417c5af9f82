/// One pool from `pool.yaml`, with the file's `defaults` and the built-in defaults applied
/// and every rule checked.
public struct PoolDefinition: Sendable, Equatable {
    /// The pool's name; matches `[a-z][a-z0-9_-]{0,62}` because it becomes part of Redis keys.
    public var name: String
    /// The role of the pool's agents; same characters as a name.
    public var role: String
    /// Agent slots per worker process, 1...100 000.
    public var maxAgentsPerProcess: Int
    /// Time between worker heartbeats; greater than zero.
    public var heartbeatInterval: Duration
    /// Time without a heartbeat after which a worker counts as dead; greater than
    /// ``heartbeatInterval``.
    public var staleAfter: Duration
    /// Workers kept running even when empty; at least 0.
    public var minWorkers: Int
    /// Ceiling for auto-scaling; at least 1 and at least ``minWorkers``.
    public var maxWorkers: Int
    /// How long an empty worker above ``minWorkers`` lives before it retires; at least 0.
    public var idleTimeout: Duration
    /// How the manager gets workers.
    public var launcher: WorkerLauncher
    /// The worker executable the manager launches; nil lets the manager decide.
    public var workerPath: String?
    /// Extra arguments appended when launching a worker.
    public var workerArguments: [String]
    /// How the pool's agents run their code.
    public var runtime: RuntimeDefinition
    /// Timeouts, attempts and limits of the pool's tasks.
    public var tasks: TaskSettings

    /// Creates a pool definition; the defaults are those of the contract. Values are taken
    /// as given: ``PoolFile/parse(_:fileName:)`` is where they are checked.
    public init(
        name: String,
        role: String,
        maxAgentsPerProcess: Int = 10,
        heartbeatInterval: Duration = .seconds(30),
        staleAfter: Duration = .seconds(300),
        minWorkers: Int = 1,
        maxWorkers: Int = 10,
        idleTimeout: Duration = .seconds(600),
        launcher: WorkerLauncher = .process,
        workerPath: String? = nil,
        workerArguments: [String] = [],
        runtime: RuntimeDefinition = .standard,
        tasks: TaskSettings = TaskSettings()
    ) {
        self.name = name
        self.role = role
        self.maxAgentsPerProcess = maxAgentsPerProcess
        self.heartbeatInterval = heartbeatInterval
        self.staleAfter = staleAfter
        self.minWorkers = minWorkers
        self.maxWorkers = maxWorkers
        self.idleTimeout = idleTimeout
        self.launcher = launcher
        self.workerPath = workerPath
        self.workerArguments = workerArguments
        self.runtime = runtime
        self.tasks = tasks
    }
}
