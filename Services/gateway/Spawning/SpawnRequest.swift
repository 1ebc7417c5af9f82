import Foundation
import PoolProtocol

/// The optional body of `POST /api/v1/agents/pools/{pool}/agents`:
/// `{"name": string, "metadata": object}`. Unknown fields are refused so that typos show.
struct SpawnRequest: Sendable, Equatable, Decodable {
    var name: String?
    var metadata: JSONObject?

    /// A name's bound in Unicode scalars. Counting Characters (graphemes) would let one
    /// letter carry any number of combining marks (300 KB in "one character"); scalars and
    /// bytes bound what is stored, logged and sent to every worker.
    static let maxNameLength = 128
    /// A name's bound in UTF-8 bytes (128 scalars of up to 4 bytes each).
    static let maxNameBytes = 512
    static let maxMetadataBytes = 64 * 1024

    enum CodingKeys: String, CodingKey, CaseIterable { case name, metadata }

    /// Parses and validates a body (empty means defaults); throws `APIError` 400/422.
    static func parse(_ body: [UInt8]) throws -> SpawnRequest {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return SpawnRequest() }
        guard let object = try? JSONDecoder().decode(JSONValue.self, from: Data(body)) else {
            throw APIError.badRequest("The body is not valid JSON.")
        }
        guard case .object(let fields) = object else {
            throw APIError.unprocessable("The body must be a JSON object with optional `name` and `metadata`.")
        }
        if let unknown = fields.keys.sorted().first(where: { CodingKeys(rawValue: $0) == nil }) {
            throw APIError.unprocessable("Unknown field `\(unknown.prefix(64))`; allowed: name, metadata.")
        }
        var request = SpawnRequest()
        switch fields["name"] {
        case nil, .null?: break
        case .string(let name)?:
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.unicodeScalars.count <= maxNameLength, trimmed.utf8.count <= maxNameBytes,
                  !trimmed.unicodeScalars.contains(where: isControlOrFormat)
            else {
                throw APIError.unprocessable(
                    "`name` must be 1 to \(maxNameLength) printable Unicode scalars (at most \(maxNameBytes) bytes of UTF-8).")
            }
            request.name = trimmed
        default: throw APIError.unprocessable("`name` must be a string.")
        }
        switch fields["metadata"] {
        case nil, .null?: break
        case .object(let metadata)?:
            guard (try JSONEncoder().encode(metadata)).count <= maxMetadataBytes else {
                throw APIError.unprocessable("`metadata` must be at most \(maxMetadataBytes / 1024) KiB of JSON.")
            }
            // PostgreSQL's jsonb cannot hold U+0000.
            guard !JSONValue.object(metadata).containsNul else {
                throw APIError.unprocessable("`metadata` must not contain the character U+0000.")
            }
            request.metadata = metadata
        default: throw APIError.unprocessable("`metadata` must be a JSON object.")
        }
        return request
    }

    /// Control (Cc) and format (Cf) characters are not allowed in names.
    private static func isControlOrFormat(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format: true
        default: false
        }
    }

    /// A fingerprint of what was asked for, to tell an idempotent replay (same body) from a
    /// conflicting reuse of the key (different body): FNV-1a over canonical JSON.
    var fingerprint: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let canonical = (try? encoder.encode(CanonicalForm(name: name, metadata: metadata))) ?? Data()
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in canonical {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }

    private struct CanonicalForm: Encodable {
        var name: String?
        var metadata: JSONObject?
    }
}
