import YAML

/// `pool.yaml` exactly as written, before defaults and checks. Every value keeps its
/// position so that checks made later still name the line and key path.
struct PoolFileDocument: Decodable {
    var defaults: PoolSettingsDocument?
    var pools: YAMLLocated<[YAMLLocated<PoolEntryDocument>]>
}

/// One entry of `pools:`: a name, a role and any setting of `defaults:`.
struct PoolEntryDocument: Decodable {
    var name: YAMLLocated<String>
    var role: YAMLLocated<String>
    var settings: PoolSettingsDocument

    private enum CodingKeys: String, CodingKey {
        case name, role
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(YAMLLocated<String>.self, forKey: .name)
        role = try container.decode(YAMLLocated<String>.self, forKey: .role)
        // The same mapping also holds the overridable settings; YAMLDecoder pools the keys
        // both reads ask for, so only keys neither knows count as unknown.
        settings = try PoolSettingsDocument(from: decoder)
    }
}

/// The settings a pool may take from `defaults:` or set itself; nil when not written.
struct PoolSettingsDocument: Decodable {
    var maxAgentsPerProcess: YAMLLocated<Int>?
    var heartbeatInterval: YAMLLocated<Double>?
    var staleAfter: YAMLLocated<Double>?
    var minWorkers: YAMLLocated<Int>?
    var maxWorkers: YAMLLocated<Int>?
    var idleTimeout: YAMLLocated<Double>?
    var launcher: YAMLLocated<String>?
    var workerPath: YAMLLocated<String>?
    var workerArguments: YAMLLocated<[String]>?
    var runtime: YAMLLocated<RuntimeDocument>?
    var taskTimeout: YAMLLocated<Double>?
    var maxAttempts: YAMLLocated<Int>?
    var maxQueuedTasks: YAMLLocated<Int>?
    var taskConcurrency: YAMLLocated<Int>?
    var taskRetention: YAMLLocated<Double>?

    private enum CodingKeys: String, CodingKey {
        case maxAgentsPerProcess = "max_agents_per_process"
        case heartbeatInterval = "heartbeat_interval"
        case staleAfter = "stale_after"
        case minWorkers = "min_workers"
        case maxWorkers = "max_workers"
        case idleTimeout = "idle_timeout"
        case launcher
        case workerPath = "worker_path"
        case workerArguments = "worker_arguments"
        case runtime
        case taskTimeout = "task_timeout"
        case maxAttempts = "max_attempts"
        case maxQueuedTasks = "max_queued_tasks"
        case taskConcurrency = "task_concurrency"
        case taskRetention = "task_retention"
    }
}
