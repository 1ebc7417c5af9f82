/// Exponential reconnect delays with jitter for a loop that reconnects by itself (a
/// subscriber, a blocking reader): 50 ms doubling up to 2 s, reset on success.
///
/// Jitter (each delay is drawn from the upper half of its step) keeps many processes that
/// lost a server together from reconnecting in lockstep. `ConnectWindow` uses the same steps.
public struct Backoff: Sendable {
    public static let initialDelay: Duration = .milliseconds(50)
    public static let maximumDelay: Duration = .seconds(2)
    private var failures = 0

    public init() {}

    /// Counts one more failure and returns how long to wait before the next attempt.
    public mutating func nextDelay() -> Duration {
        let step = Self.initialDelay * (1 << min(failures, 16))
        failures += 1
        let ceiling = min(step, Self.maximumDelay)
        return ceiling * Double.random(in: 0.5...1.0)
    }

    /// Forgets past failures after a success.
    public mutating func reset() {
        failures = 0
    }

    /// A delay for logs, e.g. `37ms`.
    public static func format(_ delay: Duration) -> String {
        "\(Int((delay / .milliseconds(1)).rounded()))ms"
    }
}
