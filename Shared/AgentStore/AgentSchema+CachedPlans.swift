import Postgres

extension AgentSchema {
    /// The hot statements of spawns and terminations as plpgsql, whose plans PostgreSQL keeps.
    ///
    /// Through PgBouncer in transaction mode every statement AgentPool sends is unnamed, so
    /// PostgreSQL parses and plans it afresh on each call; a plpgsql function's statements are
    /// planned once per server connection and reused by every client PgBouncer lends it to.
    /// A `LANGUAGE sql` function gets no such cache (its body is planned on every call), which
    /// made `agentpool_end_unfinished`, run by every stop and termination, the costliest
    /// statement of a spawn-and-terminate cycle (0.69 ms of PostgreSQL's time per call, 0.36 ms
    /// of it planning; measured with pg_stat_statements, docs/benchmarks.md).
    static let cachedPlansMigration = PostgresMigration(
        version: 6, name: "plpgsql for the statements of every spawn and termination",
        sql: """
                -- The same statement as before, in plpgsql: its plan is now kept per server connection.
                CREATE OR REPLACE FUNCTION agentpool_end_unfinished(p_agents uuid[], p_status text, p_error jsonb)
                RETURNS void
                LANGUAGE plpgsql VOLATILE AS $fn$
                BEGIN
                    WITH locked AS MATERIALIZED (
                        SELECT tasks.task_id FROM tasks
                        WHERE tasks.agent_id = ANY (p_agents) AND tasks.status IN ('queued', 'running')
                        ORDER BY tasks.task_id
                        FOR UPDATE
                    ),
                    ended AS (
                        UPDATE tasks SET status = p_status, output = NULL, error = p_error, owner = NULL, not_before = NULL,
                            finished_at = now(), updated_at = now(), event_seq = tasks.event_seq + 1
                        WHERE tasks.task_id IN (SELECT locked.task_id FROM locked) AND tasks.status IN ('queued', 'running')
                        RETURNING tasks.task_id, tasks.event_seq, tasks.attempt
                    )
                    INSERT INTO task_events (task_id, id, event, data)
                    SELECT ended.task_id, ended.event_seq, p_status,
                        CASE WHEN p_error IS NULL THEN jsonb_build_object('attempt', ended.attempt)
                             ELSE jsonb_build_object('attempt', ended.attempt, 'error', p_error) END
                    FROM ended;
                END
                $fn$;

                -- Workers record that agents run on them (AgentStore.recordRunning): agent p_ids[i] on
                -- worker p_processes[i], only where the row should run and is unplaced or already that
                -- worker's. One row per element: updated_at when written; else the row as it was
                -- (desired_state, holder) to say why not. first_start: the row had never run and was
                -- never given a task. Each row is locked before it is read, so what it answers is what
                -- the write saw; rows are locked in id order, as every statement that locks several.
                -- Row by row rather than one set-based statement: a plpgsql loop of single-row
                -- statements with kept plans costs a third of the set-based one (pgbench, one client).
                -- This is observed state, which the leader's reconcile rebuilds from the registry, so
                -- its transaction does not wait for the WAL to reach the disk (synchronous_commit off,
                -- local to the transaction; docs/operations.md).
                CREATE FUNCTION agentpool_mark_running(p_ids uuid[], p_processes uuid[])
                RETURNS TABLE (id uuid, updated_at timestamptz, desired_state text, holder text, first_start boolean)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    v record;
                    before record;
                BEGIN
                    PERFORM set_config('synchronous_commit', 'off', true);
                    FOR v IN SELECT u.id, u.process_id FROM unnest(p_ids, p_processes) AS u(id, process_id) ORDER BY u.id LOOP
                        SELECT a.desired_state, a.process_id, a.task_seq, a.first_running_at INTO before
                        FROM agents AS a WHERE a.id = v.id FOR UPDATE;
                        updated_at := NULL;
                        IF before.desired_state = 'running' AND (before.process_id IS NULL OR before.process_id = v.process_id) THEN
                            UPDATE agents AS a SET status = 'running', process_id = v.process_id, failure_reason = NULL,
                                first_running_at = COALESCE(a.first_running_at, now()), updated_at = now()
                            WHERE a.id = v.id
                            RETURNING a.updated_at INTO updated_at;
                        END IF;
                        id := v.id;
                        desired_state := before.desired_state;
                        holder := before.process_id::text;
                        first_start := before.task_seq = 0 AND before.first_running_at IS NULL;
                        RETURN NEXT;
                    END LOOP;
                END
                $fn$;
                """)
}
