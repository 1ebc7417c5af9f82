/// Waits for an outcome with a generous bound (machines are shared and noisy), the one way
/// every suite polls: `until` returns how long it took, so that tests can print it, and throws
/// when the bound passes; `eventually` answers whether it came in time.
public enum Poll {
    @discardableResult
    public static func until(
        _ what: String, timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(50),
        _ condition: () async throws -> Bool
    ) async throws -> Duration {
        let start = ContinuousClock.now
        while true {
            if (try? await condition()) == true { return ContinuousClock.now - start }
            if ContinuousClock.now - start > timeout { throw SetupError("timed out after \(timeout) waiting for \(what)") }
            try await Task.sleep(for: interval)
        }
    }

    /// Whether `condition` holds within `timeout` (checked once more at the end).
    public static func eventually(
        within timeout: Duration = .seconds(5), every interval: Duration = .milliseconds(10), _ condition: () async -> Bool
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: interval)
        }
        return await condition()
    }
}
