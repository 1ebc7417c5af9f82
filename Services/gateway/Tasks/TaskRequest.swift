import Foundation
import PoolProtocol
import TaskStore

/// The body of a task submit: `{"input": <any JSON>, "timeout"?: seconds, "max_attempts"?: n}`.
/// Unknown fields are refused so that typos show; `null` for an optional field means absent.
struct TaskRequest: Sendable, Equatable {
    var input: JSONValue
    var timeout: Double?
    var maxAttempts: Int?

    /// A task's own `timeout` is at most a day: longer work belongs in several tasks (or a
    /// pool `task_timeout`), and the bound keeps every deadline computed from it finite.
    static let maxTimeout: Double = 86_400
    /// Attempts a task may ask for: retries back off up to 60 s each, so 100 already spans
    /// well over an hour of trying.
    static let maxAttempts = 100

    enum Field: String, CaseIterable { case input, timeout, maxAttempts = "max_attempts" }

    /// Parses and validates a body; throws `invalid_request` (400 when not JSON, else 422).
    static func parse(_ body: [UInt8]) throws -> TaskRequest {
        guard body.contains(where: { !Self.isWhitespace($0) }) else {
            throw TaskErrors.invalidRequest("The body must be a JSON object with `input` (any JSON value).")
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(body)) else {
            throw TaskErrors.malformed("The body is not valid JSON.")
        }
        guard case .object(let fields) = value else {
            throw TaskErrors.invalidRequest("The body must be a JSON object with `input` (any JSON value).")
        }
        if let unknown = fields.keys.sorted().first(where: { Field(rawValue: $0) == nil }) {
            throw TaskErrors.invalidRequest(
                "Unknown field `\(unknown.prefix(64))`; allowed: \(Field.allCases.map(\.rawValue).joined(separator: ", ")).")
        }
        guard let input = fields[Field.input.rawValue] else {
            throw TaskErrors.invalidRequest("`input` is required (any JSON value, null included).")
        }
        guard !input.containsNul else {
            throw TaskErrors.invalidRequest("`input` must not contain the character U+0000.")
        }
        return TaskRequest(input: input, timeout: try timeout(fields), maxAttempts: try maxAttempts(fields))
    }

    private static func timeout(_ fields: JSONObject) throws -> Double? {
        switch fields[Field.timeout.rawValue] {
        case nil, .null?: return nil
        case .number(let seconds)? where seconds > 0 && seconds <= maxTimeout: return seconds
        default:
            throw TaskErrors.invalidRequest("`timeout` must be a number of seconds greater than 0 and at most \(Int(maxTimeout)).")
        }
    }

    private static func maxAttempts(_ fields: JSONObject) throws -> Int? {
        switch fields[Field.maxAttempts.rawValue] {
        case nil, .null?: return nil
        case .number(let count)? where count.rounded() == count && count >= 1 && count <= Double(maxAttempts): return Int(count)
        default: throw TaskErrors.invalidRequest("`max_attempts` must be an integer from 1 to \(maxAttempts).")
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// What the store is asked to accept.
    func submission(idempotencyKey: String?) -> TaskSubmission {
        TaskSubmission(input: input, timeout: timeout, maxAttempts: maxAttempts, idempotencyKey: idempotencyKey)
    }
}
