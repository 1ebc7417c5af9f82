import Metrics

extension RedisError {
    /// Counts the error in `agentpool_redis_errors_total{kind}` (connection, timeout, server,
    /// protocolViolation, configuration). Shutdown and cancellation are the caller's doing,
    /// not Redis trouble, and are not counted.
    func counted() -> RedisError {
        if code != .shutdown, code != .cancelled {
            Counter(label: "agentpool_redis_errors_total", dimensions: [("kind", code.description)]).increment()
        }
        return self
    }
}
