import Metrics

/// What a pool's leading manager measures, labelled with the pool (Prometheus names).
struct PoolMetrics: Sendable {
    let workers: Gauge
    let freeSlots: Gauge
    let desiredWorkers: Gauge
    let agents: Gauge
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
        launches = Counter(label: "agentpool_worker_launches_total", dimensions: labels)
        launchFailures = Counter(label: "agentpool_worker_launch_failures_total", dimensions: labels)
        retirements = Counter(label: "agentpool_worker_retirements_total", dimensions: labels)
        failovers = Counter(label: "agentpool_failovers_total", dimensions: labels)
        reconcileRepairs = Counter(label: "agentpool_reconcile_repairs_total", dimensions: labels)
        placements = Counter(label: "agentpool_placements_total", dimensions: labels)
        refusals = Counter(label: "agentpool_spawn_refusals_total", dimensions: labels)
    }
}
