import Foundation
import Synchronization

/// The `code` of the contract's error body `{"error": {"code": ...}}`, if `body` is one.
func errorCode(of body: Data) -> String? {
    ((try? JSONSerialization.jsonObject(with: body)) as? [String: [String: Any]])?["error"]?["code"] as? String
}

/// Every answer the storm's clients got, so that afterwards each one can be checked against
/// what the pool really did: a 201 must run exactly once, a DELETE's 200 must be terminated
/// and gone from Redis, and a failed request may leave an agent running once or not at all.
final class StormLedger: Sendable {
    enum Kind: String, Sendable { case spawn, delete }

    struct Answer: Sendable {
        let kind: Kind
        /// The HTTP status, or 0 when the request itself failed (connection refused or reset).
        let status: Int
        /// The agent the answer is about (for a spawn only when it said).
        let agentID: String?
        let client: Int
        /// The error's `code` when the answer was an error, e.g. `pool_full`.
        var errorCode: String? = nil

        /// "503 pool_full", "201", "error".
        var label: String {
            status == 0 ? "error" : errorCode.map { "\(status) \($0)" } ?? String(status)
        }
    }

    private let answers = Mutex<[Answer]>([])

    func record(_ answer: Answer) {
        answers.withLock { $0.append(answer) }
    }

    var all: [Answer] { answers.withLock { $0 } }

    /// Agents a client was told run (201).
    var confirmedSpawns: Set<String> {
        Set(all.filter { $0.kind == .spawn && $0.status == 201 }.compactMap(\.agentID))
    }

    /// Agents a DELETE answered 200 for.
    var confirmedDeletes: Set<String> {
        Set(all.filter { $0.kind == .delete && $0.status == 200 }.compactMap(\.agentID))
    }

    /// Agents a DELETE was sent for, whatever it answered.
    var deleteAttempts: Set<String> {
        Set(all.filter { $0.kind == .delete }.compactMap(\.agentID))
    }

    /// "spawn 201×40 503 pool_full×3, delete 200×20 504 terminate_timeout×2": the closing figures.
    var summary: String {
        let grouped = Dictionary(grouping: all) { "\($0.kind.rawValue)" }
        return grouped.keys.sorted().map { kind in
            let counts = Dictionary(grouping: grouped[kind]!, by: \.label).mapValues(\.count)
            return "\(kind) " + counts.keys.sorted().map { "\($0)×\(counts[$0]!)" }.joined(separator: " ")
        }.joined(separator: ", ")
    }
}

/// A small seeded generator (SplitMix64), so that a storm's client choices can be replayed
/// from the seed it prints.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
