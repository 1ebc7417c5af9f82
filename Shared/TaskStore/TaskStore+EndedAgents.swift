#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Postgres

extension TaskStore {
    /// Agents of `pool` that ended (should no longer run) within the last `window`, newest
    /// first, at most `limit`: their task streams in Redis may go (`TaskUpkeep`).
    public func endedAgents(pool: String, within window: Duration, limit: Int = 10_000) async throws -> [String] {
        let seconds = Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18
        let result = try await client.query(
            """
            SELECT id::text AS id FROM agents
            WHERE pool_name = $1 AND desired_state = 'terminated' AND updated_at > now() - make_interval(secs => $2)
            ORDER BY updated_at DESC LIMIT $3
            """,
            [pool, seconds, limit])
        return result.rows.compactMap { $0["id"] }
    }
}
