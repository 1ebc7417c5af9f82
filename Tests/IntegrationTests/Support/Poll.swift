import Foundation

/// Waits for an outcome with a generous bound (machines are shared and noisy), returning how
/// long it took so that tests can print it; throws when the bound passes.
enum Poll {
    @discardableResult
    static func until(
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
}
