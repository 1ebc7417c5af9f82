@testable import Postgres
import Testing

/// The statement exchange driven with event sequences, as libpq and the poller would report.
@Suite("Statement exchange")
struct StatementExchangeTests {
    @Test("a reply that comes in two reads: flush, wait, read, busy, wait, read, two results, done")
    func splitReply() {
        var exchange = StatementExchange()
        #expect(exchange.start() == .flush)
        #expect(exchange.flushed(0) == .checkBusy)
        #expect(exchange.state == .awaitingResults)
        #expect(exchange.busy(true) == .wait(.readable))
        #expect(exchange.waited(.ready(.readable)) == .consumeInput)
        #expect(exchange.consumed(ok: true) == .checkBusy)
        #expect(exchange.busy(true) == .wait(.readable))
        #expect(exchange.waited(.ready(.readable)) == .consumeInput)
        #expect(exchange.consumed(ok: true) == .checkBusy)
        #expect(exchange.busy(false) == .takeResult)
        #expect(exchange.took(.result) == .checkBusy)
        #expect(exchange.busy(false) == .takeResult)
        #expect(exchange.took(.none) == .finish)
        #expect(exchange.state == .done)
    }

    @Test("a statement larger than the socket buffer: flush waits for writable, reads meanwhile")
    func partialFlush() {
        var exchange = StatementExchange()
        _ = exchange.start()
        #expect(exchange.flushed(1) == .wait([.readable, .writable]))
        #expect(exchange.state == .flushing)
        #expect(exchange.waited(.ready(.writable)) == .flush)
        #expect(exchange.flushed(1) == .wait([.readable, .writable]))
        // The server wrote to us meanwhile: read first, then flush again.
        #expect(exchange.waited(.ready([.readable, .writable])) == .consumeInput)
        #expect(exchange.consumed(ok: true) == .flush)
        #expect(exchange.flushed(0) == .checkBusy)
    }

    @Test("COPY or a lost connection ends the results")
    func finalResult() {
        var exchange = StatementExchange()
        _ = exchange.start()
        _ = exchange.flushed(0)
        _ = exchange.busy(false)
        #expect(exchange.took(.final) == .finish)
        #expect(exchange.state == .done)
    }

    @Test("deadline, cancellation, a closed registration and libpq failures end the exchange")
    func failures() {
        func failed(_ events: (inout StatementExchange) -> StatementExchange.Action) -> StatementExchange.Action {
            var exchange = StatementExchange()
            _ = exchange.start()
            return events(&exchange)
        }
        #expect(failed { $0.flushed(-1) } == .fail(.broken))
        #expect(failed { _ = $0.flushed(0); _ = $0.busy(true); return $0.waited(.timedOut) } == .fail(.timedOut))
        #expect(failed { _ = $0.flushed(1); return $0.waited(.cancelled) } == .fail(.cancelled))
        #expect(failed { _ = $0.flushed(0); _ = $0.busy(true); return $0.waited(.closed) } == .fail(.broken))
        #expect(failed { _ = $0.flushed(0); _ = $0.busy(true); _ = $0.waited(.ready(.readable)); return $0.consumed(ok: false) } == .fail(.broken))
        var exchange = StatementExchange()
        _ = exchange.start()
        _ = exchange.flushed(0)
        _ = exchange.busy(true)
        _ = exchange.waited(.timedOut)
        #expect(exchange.state == .failed(.timedOut))
    }
}
