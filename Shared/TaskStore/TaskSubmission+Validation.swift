import PoolProtocol

extension TaskSubmission {
    /// Why the store would refuse this submission before asking PostgreSQL, or nil when it is
    /// fine: for the gateway's 400 `invalid_request` (`submit` throws
    /// `TaskStoreError.invalidSubmission` with the same text).
    public func problem(limits: TaskLimits) -> String? {
        let timeout = resolvedTimeout(limits)
        guard timeout.isFinite, timeout > 0 else { return "timeout must be a positive number of seconds" }
        guard (1...Int(Int32.max)).contains(resolvedMaxAttempts(limits)) else { return "max_attempts must be at least 1" }
        guard !TaskJSON.containsNUL(input) else { return "input must not contain the NUL character (\\u0000)" }
        return nil
    }

    /// The seconds one attempt may run: the submission's own, else the pool's.
    public func resolvedTimeout(_ limits: TaskLimits) -> Double { timeout ?? limits.defaultTimeout }

    /// The attempts the task may take: the submission's own, else the pool's.
    public func resolvedMaxAttempts(_ limits: TaskLimits) -> Int { maxAttempts ?? limits.defaultMaxAttempts }
}
