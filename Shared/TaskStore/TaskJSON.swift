#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol

/// JSON values in and out of `jsonb` columns.
///
/// PostgreSQL's `jsonb` refuses the NUL character (`\u0000`) in strings and keys. An agent's
/// output, progress, error message or checkpoint is stored with each NUL replaced by U+FFFD,
/// so that what an agent sends always records an outcome instead of failing the write; a
/// submitted `input` holding one is refused instead (`TaskSubmission.problem`), since it is the
/// user's own data.
enum TaskJSON {
    static func encode(_ value: JSONValue) throws -> String {
        do {
            return String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        } catch {
            throw TaskStoreError(.unencodable, "a JSON value could not be encoded (a number JSON cannot hold?)")
        }
    }

    static func encode(_ failure: TaskFailure) throws -> String {
        try encode(JSONValue.object(["message": .string(replacingNUL(failure.message)), "retryable": .bool(failure.retryable)]))
    }

    /// `value` with every NUL in its strings and keys replaced, encoded.
    static func encodeStorable(_ value: JSONValue) throws -> String {
        try encode(storable(value))
    }

    static func decode(_ text: String, column: String) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw TaskStoreError(.unreadable, "column \(column) does not hold JSON")
        }
    }

    static func decodeFailure(_ text: String) throws -> TaskFailure {
        do {
            return try JSONDecoder().decode(TaskFailure.self, from: Data(text.utf8))
        } catch {
            throw TaskStoreError(.unreadable, "column error does not hold {\"message\", \"retryable\"}")
        }
    }

    /// Whether any string or key of `value` holds a NUL.
    static func containsNUL(_ value: JSONValue) -> Bool {
        switch value {
        case .null, .bool, .number: false
        case .string(let text): text.unicodeScalars.contains("\u{0}")
        case .array(let items): items.contains(where: containsNUL)
        case .object(let members): members.contains { $0.key.unicodeScalars.contains("\u{0}") || containsNUL($0.value) }
        }
    }

    static func storable(_ value: JSONValue) -> JSONValue {
        guard containsNUL(value) else { return value }
        switch value {
        case .null, .bool, .number: return value
        case .string(let text): return .string(replacingNUL(text))
        case .array(let items): return .array(items.map(storable))
        case .object(let members):
            var result: JSONObject = [:]
            for (key, member) in members { result[replacingNUL(key)] = storable(member) }
            return .object(result)
        }
    }

    static func replacingNUL(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{0}") else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }))
    }
}
