import Synchronization

/// A value guarded by a lock that closures can capture (a `Mutex` itself cannot be captured
/// by an escaping closure), for state touched from several tasks at once.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    /// Runs `body` with the lock held; keep it short and never block or await inside.
    func withLock<Result: Sendable>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { value in try body(&value) }
    }
}
