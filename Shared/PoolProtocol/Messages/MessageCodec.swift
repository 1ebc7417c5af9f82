#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns messages into single JSON lines and back, strictly: a line that is not one JSON
/// object of a known version and type, with every field of that type well formed, is an
/// error the receiver logs and drops. Unknown extra fields are tolerated so that a newer
/// sender can add optional fields without breaking older receivers.
public enum MessageCodec {
    /// The protocol version this build speaks.
    public static let version = 1

    /// Encodes `message` as one line of JSON (no newline inside; none appended).
    public static func encode(_ message: PoolMessage, messageID: String = Identifier.make()) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail; a failure would be a programming error.
        // swiftlint:disable:next force_try
        return Array(try! encoder.encode(Envelope(messageID: messageID, message: message)))
    }

    /// Decodes one line, or throws `MessageDecodingError` saying what is wrong with it.
    public static func decode(_ line: [UInt8]) throws(MessageDecodingError) -> PoolMessage {
        var bytes = line[...]
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") {
            bytes = bytes.dropLast()
        }
        guard !bytes.isEmpty else { throw MessageDecodingError("empty line") }
        guard !bytes.contains(UInt8(ascii: "\n")) else {
            throw MessageDecodingError("more than one line")
        }
        do {
            return try JSONDecoder().decode(Line.self, from: Data(bytes)).message
        } catch let error as MessageDecodingError {
            throw error
        } catch {
            // Not JSON at all, or not an object.
            throw MessageDecodingError("not a message object with v, type and message_id")
        }
    }

    /// One line read in a single pass of the JSON parser: its header first, then the body of
    /// the type the header names, from the same object.
    private struct Line: Decodable {
        let message: PoolMessage

        init(from decoder: any Decoder) throws {
            let header: Header
            do {
                header = try Header(from: decoder)
            } catch {
                throw MessageDecodingError("not a message object with v, type and message_id")
            }
            guard header.v == version else {
                throw MessageDecodingError("unsupported version \(header.v)")
            }
            guard let type = MessageType(rawValue: header.type) else {
                throw MessageDecodingError("unknown type \"\(header.type.prefix(64))\"")
            }
            do {
                message = try decodeBody(type, from: decoder)
            } catch let error as MessageDecodingError {
                throw error
            } catch {
                throw MessageDecodingError("malformed \(type.rawValue): \(describe(error))")
            }
        }
    }

    private static func decodeBody(_ type: MessageType, from decoder: any Decoder) throws -> PoolMessage {
        let message: PoolMessage
        switch type {
        case .placeAgent: message = .placeAgent(try PlaceAgent(from: decoder))
        case .terminateAgent: message = .terminateAgent(try TerminateAgent(from: decoder))
        case .startAgent: message = .startAgent(try StartAgent(from: decoder))
        case .stopAgent: message = .stopAgent(try StopAgent(from: decoder))
        case .retireWorker: message = .retireWorker(try RetireWorker(from: decoder))
        case .workerRegistered: message = .workerRegistered(try WorkerEvent(from: decoder))
        case .workerStopping: message = .workerStopping(try WorkerEvent(from: decoder))
        case .agentStarted: message = .agentStarted(try AgentEvent(from: decoder))
        case .agentStopped: message = .agentStopped(try AgentEvent(from: decoder))
        case .agentFailed: message = .agentFailed(try AgentFailed(from: decoder))
        case .cancelTask: message = .cancelTask(try CancelTask(from: decoder))
        case .taskUpdated: message = .taskUpdated(try TaskUpdated(from: decoder))
        }
        try MessageValidation.validate(message)
        return message
    }

    /// A short reason for a `DecodingError`, naming the field, without echoing the input.
    private static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "invalid JSON" }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map(\.stringValue).joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "missing field \(parent.isEmpty ? key.stringValue : parent + "." + key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type for field \(path(context))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "invalid JSON" : "invalid field \(path(context))"
        @unknown default:
            return "invalid message"
        }
    }

    /// The fields every message starts with.
    private struct Header: Decodable {
        var v: Int
        var type: String
        var messageID: String
        enum CodingKeys: String, CodingKey { case v, type, messageID = "message_id" }
    }

    /// Header and body flattened into one JSON object.
    private struct Envelope: Encodable {
        var messageID: String
        var message: PoolMessage

        enum CodingKeys: String, CodingKey { case v, type, messageID = "message_id" }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(MessageCodec.version, forKey: .v)
            try container.encode(message.type.rawValue, forKey: .type)
            try container.encode(messageID, forKey: .messageID)
            switch message {
            case .placeAgent(let body): try body.encode(to: encoder)
            case .terminateAgent(let body): try body.encode(to: encoder)
            case .startAgent(let body): try body.encode(to: encoder)
            case .stopAgent(let body): try body.encode(to: encoder)
            case .retireWorker(let body): try body.encode(to: encoder)
            case .workerRegistered(let body), .workerStopping(let body): try body.encode(to: encoder)
            case .agentStarted(let body), .agentStopped(let body): try body.encode(to: encoder)
            case .agentFailed(let body): try body.encode(to: encoder)
            case .cancelTask(let body): try body.encode(to: encoder)
            case .taskUpdated(let body): try body.encode(to: encoder)
            }
        }
    }
}

/// Why a line was not a valid message. Its text never repeats the line itself, which may be
/// large or hostile.
public struct MessageDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "invalid message: \(reason)" }
}
