/// Every Redis key and channel name AgentPool uses, in one place, so that no service spells
/// a key by hand. The names are part of the external contract (contract section 2): operators
/// read them with `redis-cli`.
public enum RedisKeys {
    /// Hash describing one agent: `agent_id`, `pool_name`, `role`, `process_id`, `status`, timestamps.
    public static func agent(_ agentID: String) -> String { "agent:\(agentID)" }

    /// Hash describing one worker process.
    public static func process(_ processID: String) -> String { "process:\(processID)" }

    /// Set of agent ids hosted by one worker.
    public static func processAgents(_ processID: String) -> String { "process:\(processID):agents" }

    /// Sorted set of agent ids that have a slot reserved on one worker but are not yet
    /// confirmed running; the score is the reservation's deadline (Unix milliseconds), so a
    /// reservation whose command was lost frees its slot by itself.
    public static func processReservations(_ processID: String) -> String { "process:\(processID):reserved" }

    /// Set of agent ids placed in a pool.
    public static func poolAgents(_ pool: String) -> String { "pool:\(pool):agents" }

    /// Sorted set of a pool's worker process ids; score = free agent slots.
    public static func poolProcesses(_ pool: String) -> String { "pool:\(pool):processes" }

    /// Channel: manager to all workers of a pool. Commands for one worker travel on that
    /// worker's own channel (`processCommands`); workers still obey a targeted command that
    /// arrives here (an older manager's, or one an operator sends by hand).
    public static func poolCommands(_ pool: String) -> String { "pool:\(pool):commands" }

    /// Channel: manager to one worker (`start_agent`, `stop_agent`, `retire_worker`), so that a
    /// command wakes only the worker it is meant for.
    public static func processCommands(_ processID: String) -> String { "process:\(processID):commands" }

    /// Channel: workers to managers and gateways (outcomes and worker lifecycle).
    public static func poolEvents(_ pool: String) -> String { "pool:\(pool):events" }

    /// Channel: gateways to the pool's leading manager (placement and termination requests).
    public static func poolRequests(_ pool: String) -> String { "pool:\(pool):requests" }

    /// String taken with `SET NX PX`: the owner token of the pool's active manager.
    public static func poolLeader(_ pool: String) -> String { "pool:\(pool):leader" }

    /// Counter incremented by every new leadership: the fencing epoch commands carry.
    public static func poolEpoch(_ pool: String) -> String { "pool:\(pool):epoch" }

    /// Hash: the leader's view of the pool (`desired_workers`, `launches_in_flight`), refreshed
    /// by the leading manager so that gateways can report it.
    public static func poolState(_ pool: String) -> String { "pool:\(pool):state" }

    /// Stream of one agent's task deliveries (entries `task_id`, `seq`), read by the worker
    /// hosting the agent through the consumer group `taskConsumerGroup`. Only a fast path:
    /// PostgreSQL holds every task, and workers sweep it for what the stream lost.
    public static func agentTasks(_ agentID: String) -> String { "agent:\(agentID):tasks" }

    /// The consumer group of every `agentTasks` stream; each worker reads as the consumer
    /// named by its process id.
    public static let taskConsumerGroup = "workers"

    /// Channel: `task_updated` wake-ups for the gateways waiting on a pool's tasks.
    public static func poolTaskUpdates(_ pool: String) -> String { "pool:\(pool):task_updates" }
}
