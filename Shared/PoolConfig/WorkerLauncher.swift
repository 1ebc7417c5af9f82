/// How a pool's manager gets worker processes.
public enum WorkerLauncher: String, Sendable, Equatable, CaseIterable {
    /// The manager starts workers itself, as local child processes.
    case process
    /// An orchestrator (compose replicas, Kubernetes) starts workers; the manager starts
    /// nothing and reports how many it wants in the pool stats (`desired_workers`).
    case external
}
