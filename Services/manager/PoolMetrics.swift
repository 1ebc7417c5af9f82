import AgentStore
import Metrics
import PoolProtocol

/// What a pool's leading manager measures, labelled with the pool (Prometheus names).
struct PoolMetrics: Sendable {
    let workers: Gauge
    let freeSlots: Gauge
    let desiredWorkers: Gauge
    let agents: Gauge
    /// Agents that should run, by status (`pending`, `starting`, `running`), from PostgreSQL.
    let agentsByStatus: [AgentStatus: Gauge]
    /// Seconds since the oldest heartbeat among the pool's live workers.
    let heartbeatAge: Gauge
    let launches: Counter
    let launchFailures: Counter
    let retirements: Counter
    let failovers: Counter
    let reconcileRepairs: Counter
    let placements: Counter
    let refusals: Counter

    init(pool: String) {
        let labels = [("pool", pool)]
        workers = Gauge(label: "agentpool_workers", dimensions: labels)
        freeSlots = Gauge(label: "agentpool_free_slots", dimensions: labels)
        desiredWorkers = Gauge(label: "agentpool_desired_workers", dimensions: labels)
        agents = Gauge(label: "agentpool_placed_agents", dimensions: labels)
        agentsByStatus = Dictionary(uniqueKeysWithValues: Self.liveStatuses.map { status in
            (status, Gauge(label: "agentpool_agents", dimensions: labels + [("status", status.rawValue)]))
        })
        heartbeatAge = Gauge(label: "agentpool_heartbeat_age_seconds", dimensions: labels)
        launches = Counter(label: "agentpool_worker_launches_total", dimensions: labels)
        launchFailures = Counter(label: "agentpool_worker_launch_failures_total", dimensions: labels)
        retirements = Counter(label: "agentpool_worker_retirements_total", dimensions: labels)
        failovers = Counter(label: "agentpool_failovers_total", dimensions: labels)
        reconcileRepairs = Counter(label: "agentpool_reconcile_repairs_total", dimensions: labels)
        placements = Counter(label: "agentpool_placements_total", dimensions: labels)
        refusals = Counter(label: "agentpool_spawn_refusals_total", dimensions: labels)
    }

    /// The statuses of agents that should run. The others (`stopping`, `terminated`,
    /// `failed`) are history; the gateway's spawn and terminate metrics count them by outcome.
    static let liveStatuses: [AgentStatus] = [.pending, .starting, .running]

    /// Records how many agents that should run are in each live status.
    func recordAgents(_ records: [AgentRecord]) {
        for (status, gauge) in agentsByStatus {
            gauge.record(records.reduce(0) { $0 + ($1.status == status ? 1 : 0) })
        }
    }
}
