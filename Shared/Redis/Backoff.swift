/// Exponential reconnect delays with jitter: 50 ms doubling up to 2 s, reset on success.
///
/// Jitter (each delay is drawn from the upper half of its step) keeps many processes that
/// lost Redis together from reconnecting in lockstep.
public struct Backoff: Sendable {
    public var initial: Duration = .milliseconds(50)
    public var maximum: Duration = .seconds(2)
    private var failures = 0

    public init() {}

    /// Counts one more failure and returns how long to wait before the next attempt.
    public mutating func nextDelay() -> Duration {
        let step = initial * (1 << min(failures, 16))
        failures += 1
        let ceiling = min(step, maximum)
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
