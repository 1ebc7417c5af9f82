import Foundation
import PoolProtocol
import Postgres
import Redis

/// Whether every answer the storm's clients got is true of the pool now, and what is not.
struct StormVerdict: Sendable {
    var problems: [String]
    /// Rows by status and registered workers, for the closing figures.
    var figures: String

    var holds: Bool { problems.isEmpty }

    static let unchecked = StormVerdict(problems: ["not checked yet"], figures: "")

    static func check(_ stack: TestStack, ledger: StormLedger) async throws -> StormVerdict {
        let pool = stack.pools[0]
        var problems: [String] = []
        let rows = try await stack.postgres.query(
            "SELECT id::text AS id, desired_state, status FROM agents WHERE pool_name = $1", [pool]
        ).rows
        var byID: [String: (desired: String, status: String)] = [:]
        for row in rows {
            guard let id = row["id"], let desired = row["desired_state"], let status = row["status"] else { continue }
            byID[id] = (desired, status)
        }

        // Nothing half-way: every row has reached the end its desired state asks for.
        for (id, row) in byID.sorted(by: { $0.key < $1.key }) {
            switch (row.desired, row.status) {
            case ("running", "running"):
                if !(try await stack.allRunningExactlyOnce([id])) { problems.append("\(id): running but not exactly once in the registry") }
            case ("terminated", "terminated"), ("terminated", "failed"):
                let keys = try await stack.keysMentioning(id)
                if !keys.isEmpty { problems.append("\(id): \(row.status) but still in Redis: \(keys)") }
            default:
                problems.append("\(id): stuck desired \(row.desired), status \(row.status)")
            }
        }

        // Every answer holds: a 201 runs exactly once unless its client deleted it; a DELETE's
        // 200 is terminated for good.
        for id in ledger.confirmedSpawns.sorted() {
            guard let row = byID[id] else {
                problems.append("\(id): answered 201, then its row disappeared")
                continue
            }
            if !ledger.deleteAttempts.contains(id), row.desired != "running" {
                problems.append("\(id): answered 201 and never deleted, but desired \(row.desired), status \(row.status)")
            }
        }
        for id in ledger.confirmedDeletes.sorted() where byID[id]?.status != "terminated" {
            problems.append("\(id): DELETE answered 200, but the row is \(byID[id]?.status ?? "missing")")
        }

        // No stale registry entry: every worker is a live process and every process key belongs
        // to a registered worker.
        if !(try await stack.poolIsConsistent()) { problems.append("the pool is not consistent (TestStack.poolIsConsistent)") }
        let workers = try await stack.workerPIDs(pool)
        let processKeys = try await stack.redis.send("KEYS", "process:*").array?.compactMap(\.string) ?? []
        for key in processKeys {
            let processID = key.split(separator: ":")[1]
            if workers[String(processID)] == nil { problems.append("stale key \(key)") }
        }

        let counts = Dictionary(grouping: byID.values, by: \.status).mapValues(\.count)
        let figures = counts.keys.sorted().map { "\($0) \(counts[$0]!)" }.joined(separator: ", ") + "; \(workers.count) workers"
        return StormVerdict(problems: problems, figures: figures)
    }
}
