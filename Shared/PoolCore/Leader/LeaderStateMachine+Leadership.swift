/// Leadership: starting, Redis coming back, stepping down.
extension LeaderStateMachine {
    /// The lease was taken: reconcile at once, but declare no worker dead by heartbeat age
    /// for `stale_after` (the previous leader may have stalled, and heartbeats written while
    /// nobody led are as good as any).
    mutating func startLeading() {
        guard phase == .notStarted else { return }
        phase = .leading
        graceUntil = now + limits.staleAfter
        registrationWindowUntil = now + registrationWindow
        requestSnapshot()
    }

    /// Redis came back: heartbeats may not have reached it meanwhile, and messages were
    /// missed. Reconcile, and give every worker `stale_after` to be heard again.
    mutating func redisRecovered() {
        guard phase == .leading else { return }
        graceUntil = max(graceUntil ?? now, now + limits.staleAfter)
        registrationWindowUntil = now + registrationWindow
        requestSnapshot()
    }

    /// The lease is gone (or a write was refused as fenced): a newer leader may act now, so
    /// this one emits `stepDown` and never anything else.
    mutating func stepDown() {
        phase = .steppedDown
        outbox = [.stepDown]
    }

    /// How long after leading or Redis coming back no worker is launched: two heartbeat
    /// intervals (every live worker re-registers by then), at most the tuning's bound.
    var registrationWindow: Duration {
        let twoBeats = limits.heartbeatInterval * 2
        guard let bound = tuning.registrationWindowBound else { return twoBeats }
        return min(twoBeats, bound)
    }

    /// Whether workers may still be missing from the registry because it lost their entries
    /// (launching now could exceed `max_workers` once they re-register).
    var isInRegistrationWindow: Bool {
        // Nor before this leadership has seen the pool once.
        guard let registrationWindowUntil, hasReadSnapshot else { return true }
        return now < registrationWindowUntil
    }

    /// Whether workers are still in the grace after the leadership started or Redis came back.
    var isInGrace: Bool {
        guard let graceUntil else { return true }
        return now < graceUntil
    }
}
