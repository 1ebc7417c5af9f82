/// When a subscriber sends `PING` and when it gives up on a silent connection.
///
/// A subscribed connection on a quiet channel receives nothing for as long as nobody
/// publishes, so silence alone cannot tell a quiet channel from a frozen server or a
/// half-open connection (which TCP keepalive notices only after minutes). After
/// `pingInterval` of silence the subscriber sends `PING` (allowed while subscribed in RESP2;
/// the answer is a `pong` array among the messages); after `readTimeout` without hearing
/// anything at all, it gives the connection up and subscribes again.
///
/// A value with no clock of its own: the driver passes the time in, so tests can drive it
/// with made-up instants.
struct SubscriberLiveness: Sendable {
    /// What the driver does next.
    enum Action: Equatable, Sendable {
        /// Read, waiting at most this long for something to arrive.
        case wait(Duration)
        /// Send `PING` now, then ask again.
        case ping
        /// Nothing arrived within the read timeout: drop the connection.
        case giveUp
    }

    let pingInterval: Duration
    let readTimeout: Duration
    /// When the connection last delivered anything (a message, a confirmation, a `pong`).
    private(set) var lastHeard: ContinuousClock.Instant
    /// When the last `PING` went out, if one did since `lastHeard`.
    private(set) var lastPing: ContinuousClock.Instant?

    /// Starts the clock at `now`, when the subscription was confirmed.
    init(pingInterval: Duration, readTimeout: Duration, now: ContinuousClock.Instant) {
        self.pingInterval = pingInterval
        self.readTimeout = readTimeout
        self.lastHeard = now
    }

    /// Records that something arrived at `now`.
    mutating func heard(at now: ContinuousClock.Instant) {
        lastHeard = now
        lastPing = nil
    }

    /// Decides what to do at `now`; `.ping` also records that the ping is sent.
    mutating func next(at now: ContinuousClock.Instant) -> Action {
        let giveUpAt = lastHeard + readTimeout
        if now >= giveUpAt { return .giveUp }
        // One PING per interval of silence: after the last thing heard, or the last PING.
        let pingAt = (lastPing ?? lastHeard) + pingInterval
        if now >= pingAt {
            lastPing = now
            return .ping
        }
        return .wait(min(pingAt, giveUpAt) - now)
    }
}
