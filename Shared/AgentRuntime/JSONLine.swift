import Foundation
import PoolProtocol

/// JSON text as the runtimes read and write it: one object per line, no pretty printing
/// (JSONEncoder escapes newlines inside strings, so a value never spans two lines).
enum JSONLine {
    /// `value` as one line of JSON text, with its final newline.
    static func encode(_ value: JSONValue) -> [UInt8] {
        // A JSONValue always encodes (numbers are finite when they come from JSON text;
        // a non-finite one from code becomes null rather than failing the whole line).
        let data = (try? JSONEncoder().encode(value)) ?? Data("null".utf8)
        return Array(data) + [0x0A]
    }

    /// An object built from `fields`, encoded as one line.
    static func encode(_ fields: JSONObject) -> [UInt8] {
        encode(.object(fields))
    }

    /// The JSON value in `bytes`; nil when they are not JSON text.
    static func decode(_ bytes: some Collection<UInt8>) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }
}

extension AgentSpec {
    /// The `agent` object of the exec `start` message and of the http request.
    var jsonObject: JSONValue {
        .object([
            "agent_id": .string(agentID), "name": .string(name), "pool_name": .string(poolName),
            "role": .string(role), "metadata": .object(metadata),
        ])
    }
}

extension JSONValue {
    /// The value under `key` when this is an object.
    subscript(field key: String) -> JSONValue? {
        guard case .object(let object) = self else { return nil }
        return object[key]
    }

    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let flag) = self { return flag }
        return nil
    }

    var numberValue: Double? {
        if case .number(let number) = self { return number }
        return nil
    }
}
