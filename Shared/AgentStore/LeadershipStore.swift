import Postgres

/// The durable side of leadership: one increasing epoch per pool.
public struct LeadershipStore: Sendable {
    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Starts a new leadership of `pool` and returns its epoch, one more than any before.
    public func nextEpoch(pool: String) async throws -> Int {
        let result = try await client.query(
            """
            INSERT INTO pool_leadership (pool_name, epoch) VALUES ($1, 1)
            ON CONFLICT (pool_name) DO UPDATE SET epoch = pool_leadership.epoch + 1, acquired_at = now()
            RETURNING epoch
            """,
            [pool])
        guard let row = result.rows.first else { throw AgentStoreError(message: "no epoch returned") }
        return try row.decode("epoch")
    }
}
