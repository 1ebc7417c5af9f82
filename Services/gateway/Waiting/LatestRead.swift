import Synchronization

/// The latest value a request's work read, for its answer deadline to fall back on: a task
/// that was accepted, then waited for while a dependency hung, is answered as last seen
/// rather than as an error.
final class LatestRead<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    func record(_ new: Value) {
        value.withLock { $0 = new }
    }

    /// The value recorded last, if any.
    var latest: Value? {
        value.withLock { $0 }
    }
}
