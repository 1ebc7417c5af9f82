/// The timing of the task API: how answers are bounded and how waiters poll.
struct TaskAPISettings: Sendable {
    /// Every answer without `?wait` (and the start of an event stream) comes within this plus
    /// ``answerMargin`` (`SPAWN_TIMEOUT`, contract: within `SPAWN_TIMEOUT` + 1 s).
    var answerTimeout: Duration = .seconds(30)
    /// What a bounded answer may take beyond its wait, for the last read and the write: the
    /// contract allows 1 s.
    var answerMargin: Duration = .milliseconds(750)
    /// How long a running task's agent has to answer a cancel before the gateway ends it
    /// itself (contract: 5 s).
    var cancelGrace: Duration = .seconds(5)
    /// How often a waiter reads PostgreSQL in case a wake-up was lost.
    var pollInterval: Duration = .seconds(1)
    /// The longest an event stream stays silent: a comment line then (`SSE_KEEPALIVE_INTERVAL`,
    /// contract: at least every 15 s), so that proxies and clients see the connection live.
    var keepAliveInterval: Duration = .seconds(15)
}
