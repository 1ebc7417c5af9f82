import Reconnect
import Testing

@Suite("Reconnect delays and the fail-fast window")
struct ConnectWindowTests {
    @Test("waits 50 ms, doubling, at most 2 s")
    func delays() {
        let delays = (0...8).map { ConnectWindow.delay(afterFailures: $0) }
        #expect(delays == [
            .zero, .milliseconds(50), .milliseconds(100), .milliseconds(200), .milliseconds(400),
            .milliseconds(800), .milliseconds(1600), .seconds(2), .seconds(2),
        ])
        #expect(ConnectWindow.delay(afterFailures: 1000) == .seconds(2))
    }

    @Test("overlapping failures count once; success resets")
    func failuresAndSuccess() {
        var backoff = ConnectWindow()
        let start = ContinuousClock.now
        #expect(!backoff.isWaiting(at: start))

        backoff.recordFailure(message: "refused", at: start)
        backoff.recordFailure(message: "refused again", at: start + .milliseconds(10))
        #expect(backoff.failures == 1)
        #expect(backoff.lastMessage == "refused again")
        #expect(backoff.isWaiting(at: start + .milliseconds(49)))
        #expect(!backoff.isWaiting(at: start + .milliseconds(50)))

        backoff.recordFailure(message: "refused", at: start + .milliseconds(60))
        #expect(backoff.failures == 2)
        #expect(backoff.isWaiting(at: start + .milliseconds(159)))
        #expect(!backoff.isWaiting(at: start + .milliseconds(160)))

        backoff.recordSuccess()
        #expect(backoff.failures == 0)
        #expect(!backoff.isWaiting(at: start + .milliseconds(61)))
    }

    @Test("reconnect delays keep to the upper half of each step, up to 2 s, and start over after a reset")
    func jitteredDelays() {
        var backoff = Backoff()
        for step in [50, 100, 200, 400, 800, 1600, 2000, 2000] {
            let delay = backoff.nextDelay()
            #expect(delay >= .milliseconds(step) / 2 && delay <= .milliseconds(step), "\(delay) for the \(step) ms step")
        }
        backoff.reset()
        #expect(backoff.nextDelay() <= .milliseconds(50))
    }
}
