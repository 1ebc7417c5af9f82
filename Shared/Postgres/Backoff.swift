/// When to try connecting again after connects failed: 50 ms, doubling, at most 2 s.
///
/// While a wait runs, callers that need a new connection fail fast instead of queueing on a
/// database that is down; the first caller after the wait tries for real.
struct Backoff: Sendable {
    static let initialDelay: Duration = .milliseconds(50)
    static let maximumDelay: Duration = .seconds(2)

    /// Failures in a row; 0 after a success.
    private(set) var failures = 0
    /// No new connection before this instant.
    private(set) var retryAt: ContinuousClock.Instant?
    /// The last connect error's message, repeated to callers that fail fast.
    private(set) var lastMessage: String?

    /// The wait after `failures` failures in a row.
    static func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        // 50 ms × 2^(n-1), capped; the shift is bounded so it cannot overflow.
        let delay = initialDelay * (1 << min(failures - 1, 16))
        return min(delay, maximumDelay)
    }

    /// Whether a caller must fail fast at `now`.
    func isWaiting(at now: ContinuousClock.Instant) -> Bool {
        guard let retryAt else { return false }
        return now < retryAt
    }

    /// Records a failed connect. Failures of attempts that overlapped (several callers hit
    /// the same outage at once) count once, so the wait doubles per round, not per caller.
    mutating func recordFailure(message: String, at now: ContinuousClock.Instant) {
        lastMessage = message
        guard !isWaiting(at: now) else { return }
        failures += 1
        retryAt = now + Self.delay(afterFailures: failures)
    }

    /// Records a successful connect: the next failure starts again at 50 ms.
    mutating func recordSuccess() {
        failures = 0
        retryAt = nil
        lastMessage = nil
    }
}
