import Metrics

extension PostgresError {
    /// Counts the error in `agentpool_postgres_errors_total{kind}` (connection, server,
    /// decoding, configuration; `sqlstate` for server errors). Shutdown and cancellation are
    /// the caller's doing, not database trouble, and are not counted.
    func counted() -> PostgresError {
        if code != .shutdown, code != .cancelled {
            Counter(
                label: "agentpool_postgres_errors_total",
                dimensions: [("kind", code.description), ("sqlstate", sqlState ?? "")]
            ).increment()
        }
        return self
    }
}
