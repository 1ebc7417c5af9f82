import Foundation

/// A value guarded by a lock, for state touched from both async code and pool threads.
///
/// `NSLock` keeps the module within its declared dependencies (Synchronization's `Mutex`
/// would need macOS 15).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    /// Runs `body` with the lock held; keep it short and never block or await inside.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
