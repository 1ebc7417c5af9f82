/// One statement's exchange on a non-blocking libpq connection, as a value: sent → flushing
/// → awaiting results → done, or failed (timed out, cancelled, broken).
///
/// It decides only what to do next; the driver (`PostgresConnection.finish`) performs each
/// action (a libpq call or a wait on the poller) and reports the outcome back as the next
/// event. Nothing here calls libpq or waits, so it is unit-tested with event sequences.
///
/// Why non-blocking libpq and not blocking calls with a watchdog: a blocking `PQexecParams`
/// holds its thread until a frozen server (a SIGSTOPped PgBouncer, a host gone without a
/// reset) answers, which is never. Driven this way, the waiting task holds no thread at all,
/// and its deadline is a timer of the process's one poller thread.
struct StatementExchange: Equatable {
    /// Why the exchange failed.
    enum Failure: Error, Equatable {
        /// The deadline passed; the connection is in an unknown protocol state.
        case timedOut
        /// The caller's task was cancelled mid-statement; the state is unknown too.
        case cancelled
        /// libpq reported a connection failure (its message is in `PQerrorMessage`).
        case broken
    }

    enum State: Equatable {
        /// libpq may still buffer part of the statement.
        case flushing
        /// Everything was sent; results are read as they arrive.
        case awaitingResults
        /// The last result was taken.
        case done
        case failed(Failure)
    }

    /// What the driver does next, and which event it then reports.
    enum Action: Equatable {
        /// `PQflush`; report `flushed`.
        case flush
        /// Wait on the poller; report `waited`.
        case wait(PollerEvents)
        /// `PQconsumeInput`; report `consumed`.
        case consumeInput
        /// `PQisBusy`; report `busy`.
        case checkBusy
        /// `PQgetResult`; report `took`.
        case takeResult
        /// Every result is in: turn the last one into the answer.
        case finish
        /// Give up; the connection may not be reused unless the failure is `.broken` and libpq
        /// still calls it idle.
        case fail(Failure)
    }

    /// What `PQgetResult` gave.
    enum Taken: Equatable {
        /// NULL: the statement's results are complete.
        case none
        /// A result; more may follow.
        case result
        /// A result after which nothing more comes by itself (COPY, or a lost connection).
        case final
    }

    private(set) var state = State.flushing

    /// The statement was handed to libpq (`PQsendQueryParams` / `PQsendQuery`).
    func start() -> Action { .flush }

    /// `PQflush` returned `status` (0 all sent, 1 more to send, -1 failure).
    mutating func flushed(_ status: Int32) -> Action {
        switch status {
        case 0:
            state = .awaitingResults
            return .checkBusy
        case 1:
            // libpq's rule: while the output does not drain, read too.
            return .wait([.readable, .writable])
        default:
            return fail(.broken)
        }
    }

    /// A wait on the poller ended.
    mutating func waited(_ outcome: PollerOutcome) -> Action {
        switch outcome {
        case .ready(let events):
            if state == .flushing, !events.contains(.readable) { return .flush }
            return .consumeInput
        case .timedOut:
            return fail(.timedOut)
        case .cancelled:
            return fail(.cancelled)
        case .closed:
            return fail(.broken)
        }
    }

    /// `PQconsumeInput` returned (false: the connection failed).
    mutating func consumed(ok: Bool) -> Action {
        guard ok else { return fail(.broken) }
        return state == .flushing ? .flush : .checkBusy
    }

    /// `PQisBusy` said whether a result would still block.
    mutating func busy(_ isBusy: Bool) -> Action {
        isBusy ? .wait(.readable) : .takeResult
    }

    /// `PQgetResult` gave `taken`.
    mutating func took(_ taken: Taken) -> Action {
        switch taken {
        case .none, .final:
            state = .done
            return .finish
        case .result:
            return .checkBusy
        }
    }

    private mutating func fail(_ failure: Failure) -> Action {
        state = .failed(failure)
        return .fail(failure)
    }
}
