@testable import Redis
import Testing

/// The subscriber's ping and give-up timing, driven with made-up instants (no socket, no sleep).
@Suite("Subscriber liveness")
struct SubscriberLivenessTests {
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start + .milliseconds(milliseconds) }

    func liveness() -> SubscriberLiveness {
        SubscriberLiveness(pingInterval: .seconds(1), readTimeout: .seconds(3), now: start)
    }

    @Test func waitsUntilThePingIsDue() {
        var liveness = liveness()
        #expect(liveness.next(at: at(0)) == .wait(.seconds(1)))
        #expect(liveness.next(at: at(400)) == .wait(.milliseconds(600)))
    }

    @Test func pingsOncePerIntervalOfSilenceThenGivesUp() {
        var liveness = liveness()
        #expect(liveness.next(at: at(1000)) == .ping)
        #expect(liveness.next(at: at(1000)) == .wait(.seconds(1)))
        #expect(liveness.next(at: at(2000)) == .ping)
        // The next ping would be due at 3 s, which is also when it gives up.
        #expect(liveness.next(at: at(2000)) == .wait(.seconds(1)))
        #expect(liveness.next(at: at(2999)) == .wait(.milliseconds(1)))
        #expect(liveness.next(at: at(3000)) == .giveUp)
    }

    @Test func anythingHeardRestartsBothClocks() {
        var liveness = liveness()
        #expect(liveness.next(at: at(1000)) == .ping)
        liveness.heard(at: at(1100))  // the pong
        #expect(liveness.next(at: at(1100)) == .wait(.seconds(1)))
        #expect(liveness.next(at: at(2100)) == .ping)
        #expect(liveness.next(at: at(3100)) == .ping)
        #expect(liveness.next(at: at(4000)) == .wait(.milliseconds(100)))
        #expect(liveness.next(at: at(4100)) == .giveUp)
    }

    @Test func aBusyChannelNeverPings() {
        var liveness = liveness()
        for step in 1...20 {
            liveness.heard(at: at(step * 500))
            #expect(liveness.next(at: at(step * 500)) == .wait(.seconds(1)))
        }
    }
}
