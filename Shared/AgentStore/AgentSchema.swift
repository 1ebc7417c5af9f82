import Postgres

/// The database schema, as migrations applied once (under a transaction-scoped advisory lock)
/// by whichever service starts first.
public enum AgentSchema {
    /// Every migration, oldest first. Never edit one that has shipped; add a new one.
    public static let migrations: [PostgresMigration] = [
        PostgresMigration(
            version: 1, name: "create agents",
            sql: """
                CREATE TABLE agents (
                    id              uuid PRIMARY KEY,
                    name            text NOT NULL,
                    pool_name       text NOT NULL,
                    role            text NOT NULL,
                    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
                    desired_state   text NOT NULL CHECK (desired_state IN ('running', 'terminated')),
                    status          text NOT NULL
                                    CHECK (status IN ('pending', 'starting', 'running', 'stopping', 'terminated', 'failed')),
                    process_id      uuid,
                    idempotency_key text,
                    request_hash    text,
                    failure_reason  text,
                    created_at      timestamptz NOT NULL DEFAULT now(),
                    updated_at      timestamptz NOT NULL DEFAULT now()
                );
                -- An Idempotency-Key is scoped to its pool; a failed spawn clears its key.
                CREATE UNIQUE INDEX agents_pool_idempotency_key
                    ON agents (pool_name, idempotency_key) WHERE idempotency_key IS NOT NULL;
                -- Reconcile passes read what should run in one pool.
                CREATE INDEX agents_pool_desired ON agents (pool_name, desired_state);
                CREATE INDEX agents_created_at ON agents (created_at);
                """),
        PostgresMigration(
            version: 2, name: "create pool_leadership",
            sql: """
                -- The fencing epoch of each pool's leadership. It lives here, not only in Redis,
                -- so that it never goes backwards when Redis loses its data: workers ignore
                -- commands older than the newest epoch they saw.
                CREATE TABLE pool_leadership (
                    pool_name   text PRIMARY KEY,
                    epoch       bigint NOT NULL,
                    acquired_at timestamptz NOT NULL DEFAULT now()
                );
                """),
        PostgresMigration(
            version: 3, name: "agents remember their first confirmed start",
            sql: """
                -- Set by the first confirmed start and never cleared: a refusal for capacity may
                -- delete only a row that never ran (the spawn request it refuses), never an agent
                -- that is being placed again after its worker died.
                ALTER TABLE agents ADD COLUMN first_running_at timestamptz;
                UPDATE agents SET first_running_at = updated_at
                    WHERE status IN ('running', 'stopping') OR process_id IS NOT NULL;
                -- Healing releases every row naming a dead worker.
                CREATE INDEX agents_process ON agents (process_id) WHERE process_id IS NOT NULL;
                -- Reconcile passes read the stops that have not ended, per pool.
                CREATE INDEX agents_pool_unsettled ON agents (pool_name)
                    WHERE desired_state = 'terminated' AND status NOT IN ('terminated', 'failed');
                """),
        tasksMigration,
        taskBatchesMigration,
        cachedPlansMigration,
        taskStartLocksMigration,
    ]
}
