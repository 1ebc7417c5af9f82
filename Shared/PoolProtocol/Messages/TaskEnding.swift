#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
    /// On the wire as RFC 3339 UTC (`Timestamp`, the API's precision), parsed once on receipt:
    /// a line with a time that does not parse is malformed.
    public var startedAt: Date?
    public var finishedAt: Date
    public var updatedAt: Date

    public init(
        output: JSONValue?, error: TaskFailure?, attempt: Int, cancelRequested: Bool,
        startedAt: Date?, finishedAt: Date, updatedAt: Date
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

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func time(_ key: CodingKeys) throws -> Date? {
            guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let date = Timestamp.date(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not an RFC 3339 time")
            }
            return date
        }
        output = try container.decodeIfPresent(JSONValue.self, forKey: .output)
        error = try container.decodeIfPresent(TaskFailure.self, forKey: .error)
        attempt = try container.decode(Int.self, forKey: .attempt)
        cancelRequested = try container.decode(Bool.self, forKey: .cancelRequested)
        startedAt = try time(.startedAt)
        guard let finishedAt = try time(.finishedAt), let updatedAt = try time(.updatedAt) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "an ending without its times"))
        }
        self.finishedAt = finishedAt
        self.updatedAt = updatedAt
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(output, forKey: .output)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(cancelRequested, forKey: .cancelRequested)
        try container.encodeIfPresent(startedAt.map(Timestamp.string), forKey: .startedAt)
        try container.encode(Timestamp.string(finishedAt), forKey: .finishedAt)
        try container.encode(Timestamp.string(updatedAt), forKey: .updatedAt)
    }
}
