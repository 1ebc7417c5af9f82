/// The `error` of a task: why its last attempt failed, and whether that failure was one that
/// may succeed when tried again (contract section 5).
public struct TaskFailure: Sendable, Codable, Hashable {
    public var message: String
    public var retryable: Bool

    public init(message: String, retryable: Bool) {
        self.message = message
        self.retryable = retryable
    }

    /// The attempt's worker died or its child process exited while the task ran.
    public static func workerLost(_ reason: String = "worker lost") -> TaskFailure {
        TaskFailure(message: reason, retryable: true)
    }
}
