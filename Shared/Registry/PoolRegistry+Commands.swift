#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PoolProtocol
import Redis

/// How commands for one worker are encoded for the scripts that publish them (see
/// `PoolRegistry+Leader`).
extension PoolRegistry {
    /// Encodes the command `make` builds for a placeholder target and splits the line around
    /// that target, so that a script can address it with `prefix .. process_id .. suffix`.
    /// The placeholder is a fresh random UUID: it cannot also occur in the agent's fields.
    static func split(_ make: (String) -> PoolMessage) -> (prefix: String, suffix: String) {
        let placeholder = Identifier.make()
        let line = MessageCodec.encode(make(placeholder))
        guard let range = line.firstRange(of: Array(placeholder.utf8)) else {
            preconditionFailure("an encoded command always contains its target_process_id")
        }
        return (String(decoding: line[..<range.lowerBound], as: UTF8.self), String(decoding: line[range.upperBound...], as: UTF8.self))
    }
}

/// What `stopPlacedAgent` did.
public enum StopDelivery: Sendable, Hashable {
    /// The registry places the agent on `processID`, which received `stop_agent`.
    case sent(processID: String)
    /// The registry places the agent on `processID`, but nobody listens on its channel (the
    /// worker died, or its subscription is reconnecting); reconcile takes over.
    case notListening(processID: String)
    /// The registry places the agent nowhere.
    case notPlaced
}
