/// How a task ended, as committed: carried by the `task_updated` of an outcome so that a
/// gateway answering `?wait` (or `GET ?wait`) has the final task without reading its row
/// again. Only the fields an outcome changes; the rest of the task is as it was accepted.
/// Left out when the output or error is large (the message stays small; waiters read the
/// row then), and a waiter that has none reads PostgreSQL as before.
public struct TaskEnding: Sendable, Codable, Hashable {
    public var output: JSONValue?
    public var error: TaskFailure?
    public var attempt: Int
    public var cancelRequested: Bool
    /// RFC 3339 UTC, as `Timestamp.string` renders it (the API's precision).
    public var startedAt: String?
    public var finishedAt: String
    public var updatedAt: String

    public init(
        output: JSONValue?, error: TaskFailure?, attempt: Int, cancelRequested: Bool,
        startedAt: String?, finishedAt: String, updatedAt: String
    ) {
        self.output = output
        self.error = error
        self.attempt = attempt
        self.cancelRequested = cancelRequested
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case output, error, attempt
        case cancelRequested = "cancel_requested"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case updatedAt = "updated_at"
    }
}
