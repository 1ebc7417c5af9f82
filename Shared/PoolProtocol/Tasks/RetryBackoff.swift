/// How long a task waits before its next attempt (contract section 5): 1 s after the first
/// failed attempt, doubling, at most 60 s.
public enum RetryBackoff {
    /// The wait after attempt number `attempt` (1-based) failed.
    public static func delay(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 6)  // 2^6 = 64 > 60: the cap holds from there on
        return .seconds(min(60, 1 << exponent))
    }
}
