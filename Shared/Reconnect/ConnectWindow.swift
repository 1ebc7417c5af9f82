/// When a client may try connecting again after connects failed: 50 ms, doubling, at most
/// 2 s (`Backoff`'s steps, without jitter: the window is one process's own).
///
/// While the window is open, callers that need a new connection fail fast instead of each
/// waiting for a connect timeout on a server that is down; the first caller after it tries for
/// real, and a success closes it. Both clients, Redis and PostgreSQL, keep one per pool.
public struct ConnectWindow: Sendable {
    /// Failures in a row; 0 after a success.
    public private(set) var failures = 0
    /// No new connection before this instant.
    public private(set) var retryAt: ContinuousClock.Instant?
    /// The last connect error's message, repeated to callers that fail fast.
    public private(set) var lastMessage: String?

    public init() {}

    /// The wait after `failures` failures in a row.
    public static func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        // 50 ms × 2^(n-1), capped; the shift is bounded so it cannot overflow.
        let delay = Backoff.initialDelay * (1 << min(failures - 1, 16))
        return min(delay, Backoff.maximumDelay)
    }

    /// Whether a caller must fail fast at `now`.
    public func isWaiting(at now: ContinuousClock.Instant = .now) -> Bool {
        guard let retryAt else { return false }
        return now < retryAt
    }

    /// Records a failed connect and returns how long the window stays open. Failures of
    /// attempts that overlapped (several callers hit the same outage at once) count once, so
    /// the wait doubles per round, not per caller.
    @discardableResult
    public mutating func recordFailure(message: String, at now: ContinuousClock.Instant = .now) -> Duration {
        lastMessage = message
        if !isWaiting(at: now) {
            failures += 1
            retryAt = now + Self.delay(afterFailures: failures)
        }
        return (retryAt ?? now) - now
    }

    /// Records a successful connect: the next failure starts again at 50 ms.
    public mutating func recordSuccess() {
        failures = 0
        retryAt = nil
        lastMessage = nil
    }
}
