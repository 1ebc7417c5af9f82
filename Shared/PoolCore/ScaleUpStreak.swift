/// How many scale-ups in a row each came soon after the one before: a pool that runs full
/// again right after it grew is in a sustained burst, and `ScalingPolicy` then grows it
/// geometrically instead of one round of exact need at a time.
public struct ScaleUpStreak: Sendable, Hashable {
    /// A scale-up at most this long after the previous one continues the streak. Long enough
    /// for a worker to start, register and fill on a loaded machine; short enough that steady
    /// slow growth (a new worker every few seconds or more) stays exact.
    public static let window: Duration = .seconds(5)

    private var last: ContinuousClock.Instant?
    private var length = 0

    public init() {}

    /// The scale-ups of the streak that is still going at `now` (0 when the last one is older
    /// than `window`, or there was none).
    public func length(at now: ContinuousClock.Instant) -> Int {
        guard let last, now - last <= Self.window else { return 0 }
        return length
    }

    /// Records a scale-up (launches for waiting agents) at `now`.
    public mutating func record(at now: ContinuousClock.Instant) {
        length = length(at: now) + 1
        last = now
    }
}
