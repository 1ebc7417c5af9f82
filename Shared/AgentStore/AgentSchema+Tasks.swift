import Postgres

extension AgentSchema {
    /// Tasks (contract section 5): the `tasks` and `task_events` tables, the agent's task
    /// numbers and state checkpoint, and the plpgsql functions for the steps that must be
    /// atomic beyond one row (a submit, a termination that cancels its agent's tasks, an
    /// attempt's outcome with the retry policy). `TaskStore` and `AgentStore` call them.
    static let tasksMigration = PostgresMigration(
        version: 4, name: "create tasks and task_events",
        sql: """
                -- Every agent numbers its tasks (`task_seq`, the last number given) and keeps its last
                -- checkpoint (`state`), which survives re-placement and process restarts.
                ALTER TABLE agents
                    ADD COLUMN task_seq bigint NOT NULL DEFAULT 0,
                    ADD COLUMN state jsonb,
                    ADD COLUMN state_updated_at timestamptz;

                CREATE TABLE tasks (
                    task_id                uuid PRIMARY KEY,
                    -- An agent row is deleted only when it never ran (a refused spawn), so never with tasks;
                    -- the cascade only spares cleanups a second statement.
                    agent_id               uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
                    pool_name              text NOT NULL,
                    seq                    bigint NOT NULL,
                    status                 text NOT NULL
                                           CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out')),
                    input                  jsonb NOT NULL,
                    output                 jsonb,
                    error                  jsonb,
                    attempt                int NOT NULL DEFAULT 0 CHECK (attempt >= 0),
                    max_attempts           int NOT NULL CHECK (max_attempts >= 1),
                    timeout_seconds        double precision NOT NULL CHECK (timeout_seconds > 0),
                    cancel_requested_at    timestamptz,
                    -- The worker of the running attempt: outcomes are written only by it, for that attempt.
                    owner                  uuid,
                    -- While queued after a failed attempt: the end of its backoff.
                    not_before             timestamptz,
                    last_attempt_timed_out boolean NOT NULL DEFAULT false,
                    -- The id of the newest event in task_events (ids grow strictly per task).
                    event_seq              int NOT NULL DEFAULT 0,
                    -- The Idempotency-Key of an agent submit (unique per agent) or of a pool submit (unique
                    -- per pool): two separate spaces.
                    agent_key              text,
                    pool_key               text,
                    created_at             timestamptz NOT NULL DEFAULT now(),
                    started_at             timestamptz,
                    finished_at            timestamptz,
                    updated_at             timestamptz NOT NULL DEFAULT now(),
                    UNIQUE (agent_id, seq),
                    CHECK ((status IN ('queued', 'running')) = (finished_at IS NULL)),
                    CHECK ((status = 'running') = (owner IS NOT NULL))
                );
                CREATE UNIQUE INDEX tasks_agent_key ON tasks (agent_id, agent_key) WHERE agent_key IS NOT NULL;
                CREATE UNIQUE INDEX tasks_pool_key ON tasks (pool_name, pool_key) WHERE pool_key IS NOT NULL;
                -- What an agent's worker runs next, in order; also counts for max_queued_tasks.
                CREATE INDEX tasks_unfinished ON tasks (agent_id, seq) WHERE status IN ('queued', 'running');
                -- Listing, newest first, paged by (created_at, task_id), with each filter.
                CREATE INDEX tasks_newest ON tasks (created_at, task_id);
                CREATE INDEX tasks_agent_newest ON tasks (agent_id, created_at, task_id);
                CREATE INDEX tasks_pool_newest ON tasks (pool_name, created_at, task_id);
                CREATE INDEX tasks_status_newest ON tasks (status, created_at, task_id);
                -- Retention: finished tasks of a pool, oldest first.
                CREATE INDEX tasks_pool_finished ON tasks (pool_name, finished_at) WHERE finished_at IS NOT NULL;
                -- Lost attempts: running tasks per pool and owner.
                CREATE INDEX tasks_running ON tasks (pool_name, owner) WHERE status = 'running';

                CREATE TABLE task_events (
                    task_id    uuid NOT NULL REFERENCES tasks (task_id) ON DELETE CASCADE,
                    id         int NOT NULL CHECK (id >= 1),
                    event      text NOT NULL CHECK (event IN
                                   ('queued', 'started', 'progress', 'retrying', 'succeeded', 'failed', 'cancelled', 'timed_out')),
                    data       jsonb NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (task_id, id)
                );

                -- The functions below hold the steps that must be atomic beyond one row. Each statement of a
                -- VOLATILE plpgsql function takes a fresh snapshot (READ COMMITTED), so what follows a lock
                -- sees every row committed while the lock was awaited; one SQL statement would not.

                -- RFC 3339 UTC with milliseconds, as the API writes timestamps.
                CREATE FUNCTION agentpool_rfc3339(p_at timestamptz) RETURNS text
                LANGUAGE sql IMMUTABLE AS $fn$
                    SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
                $fn$;

                -- Ends one unfinished task the caller has locked: final status, output, error, and the final
                -- event (carrying "attempt", and "error" when there is one), in one step.
                CREATE FUNCTION agentpool_task_end(
                    p_task uuid, p_status text, p_output jsonb, p_error jsonb, p_timed_out boolean DEFAULT NULL
                ) RETURNS tasks
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    t tasks;
                BEGIN
                    UPDATE tasks SET status = p_status, output = p_output, error = p_error, owner = NULL, not_before = NULL,
                        last_attempt_timed_out = COALESCE(p_timed_out, tasks.last_attempt_timed_out),
                        finished_at = now(), updated_at = now(), event_seq = tasks.event_seq + 1
                    WHERE tasks.task_id = p_task
                    RETURNING * INTO t;
                    INSERT INTO task_events (task_id, id, event, data)
                    VALUES (t.task_id, t.event_seq, p_status,
                        CASE WHEN p_error IS NULL THEN jsonb_build_object('attempt', t.attempt)
                             ELSE jsonb_build_object('attempt', t.attempt, 'error', p_error) END);
                    RETURN t;
                END
                $fn$;

                -- Ends every unfinished task of these agents (the caller has locked their rows first), with
                -- `p_status` ('cancelled' or 'failed') and `p_error`. The tasks are locked in task id order,
                -- the order of every statement that locks several tasks, so that two never deadlock.
                CREATE FUNCTION agentpool_end_unfinished(p_agents uuid[], p_status text, p_error jsonb) RETURNS void
                LANGUAGE sql VOLATILE AS $fn$
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
                    FROM ended
                $fn$;

                -- Termination was asked for (AgentStore.markStopping): the agents should not run any more,
                -- and their unfinished tasks end `cancelled` in the same step, after the rows are locked.
                CREATE FUNCTION agentpool_stop_agents(p_ids uuid[]) RETURNS SETOF agents
                LANGUAGE plpgsql VOLATILE AS $fn$
                BEGIN
                    RETURN QUERY
                        UPDATE agents SET desired_state = 'terminated',
                            status = CASE WHEN agents.status IN ('terminated', 'failed') THEN agents.status
                                          WHEN agents.process_id IS NULL THEN 'terminated' ELSE 'stopping' END,
                            updated_at = now()
                        WHERE agents.id = ANY (p_ids)
                        RETURNING agents.*;
                    PERFORM agentpool_end_unfinished(p_ids, 'cancelled', NULL);
                END
                $fn$;

                -- The agents stopped for good (AgentStore.markTerminated); a row already ended stays as it is.
                -- Their unfinished tasks end `cancelled` in the same step.
                CREATE FUNCTION agentpool_terminate_agents(p_ids uuid[]) RETURNS SETOF agents
                LANGUAGE plpgsql VOLATILE AS $fn$
                BEGIN
                    RETURN QUERY
                        UPDATE agents SET desired_state = 'terminated', status = 'terminated', process_id = NULL, updated_at = now()
                        WHERE agents.id = ANY (p_ids) AND agents.status NOT IN ('failed', 'terminated')
                        RETURNING agents.*;
                    PERFORM agentpool_end_unfinished(p_ids, 'cancelled', NULL);
                END
                $fn$;

                -- The agent ended `failed` on its worker (TaskStore.markAgentFailed): only while the row
                -- names that worker or none. Its unfinished tasks fail ("agent failed: <reason>").
                CREATE FUNCTION agentpool_fail_agent(p_agent uuid, p_process uuid, p_reason text) RETURNS boolean
                LANGUAGE plpgsql VOLATILE AS $fn$
                BEGIN
                    UPDATE agents SET status = 'failed', desired_state = 'terminated', failure_reason = p_reason,
                        process_id = NULL, updated_at = now()
                    WHERE agents.id = p_agent AND (agents.process_id = p_process OR agents.process_id IS NULL)
                        AND agents.status NOT IN ('terminated', 'failed');
                    IF NOT FOUND THEN
                        RETURN false;
                    END IF;
                    PERFORM agentpool_end_unfinished(ARRAY[p_agent], 'failed',
                        jsonb_build_object('message', 'agent failed: ' || p_reason, 'retryable', false));
                    RETURN true;
                END
                $fn$;

                -- A new task of the locked agent row `p_agent`: the agent's next number, status queued,
                -- attempt 0, and its first event.
                CREATE FUNCTION agentpool_task_insert(
                    p_agent agents, p_task uuid, p_input jsonb, p_timeout double precision, p_max_attempts int,
                    p_agent_key text, p_pool_key text
                ) RETURNS tasks
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    next_seq bigint;
                    created tasks;
                BEGIN
                    UPDATE agents SET task_seq = agents.task_seq + 1 WHERE agents.id = p_agent.id RETURNING agents.task_seq INTO next_seq;
                    -- The clock after the lock, not the transaction's start: per agent, creation order is
                    -- then the order of the numbers.
                    INSERT INTO tasks (task_id, agent_id, pool_name, seq, status, input, attempt, max_attempts, timeout_seconds,
                        event_seq, agent_key, pool_key, created_at, updated_at)
                    VALUES (p_task, p_agent.id, p_agent.pool_name, next_seq, 'queued', p_input, 0, p_max_attempts, p_timeout,
                        1, p_agent_key, p_pool_key, clock_timestamp(), clock_timestamp())
                    RETURNING * INTO created;
                    INSERT INTO task_events (task_id, id, event, data, created_at)
                    VALUES (p_task, 1, 'queued', jsonb_build_object('attempt', 0), created.created_at);
                    RETURN created;
                END
                $fn$;

                -- A submit to one agent (contract section 5, in its order of checks): unknown agent, then an
                -- idempotent replay or key conflict, then acceptance, then max_queued_tasks, then the insert.
                -- The agent row is locked first, so submits to one agent and its termination take turns.
                CREATE FUNCTION agentpool_submit_to_agent(
                    p_agent uuid, p_task uuid, p_input jsonb, p_timeout double precision, p_max_attempts int,
                    p_key text, p_max_queued int
                ) RETURNS TABLE (outcome text, task tasks)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    ag agents;
                    existing tasks;
                    unfinished bigint;
                BEGIN
                    SELECT * INTO ag FROM agents WHERE agents.id = p_agent FOR UPDATE;
                    IF NOT FOUND THEN
                        outcome := 'agent_not_found';
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    IF p_key IS NOT NULL THEN
                        SELECT * INTO existing FROM tasks WHERE tasks.agent_id = p_agent AND tasks.agent_key = p_key;
                        IF FOUND THEN
                            IF existing.input = p_input AND existing.timeout_seconds = p_timeout
                                AND existing.max_attempts = p_max_attempts THEN
                                outcome := 'replayed';
                                task := existing;
                            ELSE
                                outcome := 'key_conflict';
                            END IF;
                            RETURN NEXT;
                            RETURN;
                        END IF;
                    END IF;
                    IF ag.desired_state <> 'running' OR ag.first_running_at IS NULL THEN
                        outcome := 'agent_not_running';
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    SELECT count(*) INTO unfinished FROM tasks
                    WHERE tasks.agent_id = p_agent AND tasks.status IN ('queued', 'running');
                    IF unfinished >= p_max_queued THEN
                        outcome := 'queue_full';
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    outcome := 'accepted';
                    task := agentpool_task_insert(ag, p_task, p_input, p_timeout, p_max_attempts, p_key, NULL);
                    RETURN NEXT;
                END
                $fn$;

                -- A submit to a pool: to the running agent with the fewest unfinished tasks. The key's replay
                -- is resolved first, under a transaction-scoped advisory lock on (pool, key), since two
                -- submits with one key may pick different agents. Each candidate is tried in a
                -- subtransaction that rolls back when it cannot take the task, which also gives its row lock
                -- back: a submit never waits for one agent while it holds another (no deadlocks). Busy rows
                -- are skipped at first and waited for only when the free ones could not take the task.
                CREATE FUNCTION agentpool_submit_to_pool(
                    p_pool text, p_task uuid, p_input jsonb, p_timeout double precision, p_max_attempts int,
                    p_key text, p_max_queued int
                ) RETURNS TABLE (outcome text, task tasks)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    existing tasks;
                    ag agents;
                    candidates uuid[];
                    busy uuid[] := '{}';
                    candidate uuid;
                    pass int;
                    unfinished bigint;
                    saw_running boolean := false;
                BEGIN
                    IF p_key IS NOT NULL THEN
                        PERFORM pg_advisory_xact_lock(hashtextextended('agentpool.tasks.pool_key ' || p_pool || ' ' || p_key, 0));
                        SELECT * INTO existing FROM tasks WHERE tasks.pool_name = p_pool AND tasks.pool_key = p_key;
                        IF FOUND THEN
                            IF existing.input = p_input AND existing.timeout_seconds = p_timeout
                                AND existing.max_attempts = p_max_attempts THEN
                                outcome := 'replayed';
                                task := existing;
                            ELSE
                                outcome := 'key_conflict';
                            END IF;
                            RETURN NEXT;
                            RETURN;
                        END IF;
                    END IF;
                    SELECT array_agg(ranked.id ORDER BY ranked.unfinished, ranked.tie) INTO candidates
                    FROM (
                        SELECT agents.id, random() AS tie,
                            (SELECT count(*) FROM tasks WHERE tasks.agent_id = agents.id AND tasks.status IN ('queued', 'running'))
                                AS unfinished
                        FROM agents
                        WHERE agents.pool_name = p_pool AND agents.status = 'running' AND agents.desired_state = 'running'
                    ) AS ranked;
                    FOR pass IN 1..2 LOOP
                        FOREACH candidate IN ARRAY COALESCE(CASE WHEN pass = 1 THEN candidates ELSE busy END, '{}') LOOP
                            IF pass = 1 THEN
                                -- Without a lock: a count at the limit only grows with the submits in flight.
                                SELECT count(*) INTO unfinished FROM tasks
                                WHERE tasks.agent_id = candidate AND tasks.status IN ('queued', 'running');
                                IF unfinished >= p_max_queued THEN
                                    saw_running := true;
                                    CONTINUE;
                                END IF;
                            END IF;
                            BEGIN
                                IF pass = 1 THEN
                                    SELECT * INTO ag FROM agents WHERE agents.id = candidate FOR UPDATE SKIP LOCKED;
                                    IF NOT FOUND THEN
                                        RAISE EXCEPTION USING ERRCODE = 'AP003';
                                    END IF;
                                ELSE
                                    SELECT * INTO ag FROM agents WHERE agents.id = candidate FOR UPDATE;
                                    IF NOT FOUND THEN
                                        RAISE EXCEPTION USING ERRCODE = 'AP001';
                                    END IF;
                                END IF;
                                IF ag.status <> 'running' OR ag.desired_state <> 'running' THEN
                                    RAISE EXCEPTION USING ERRCODE = 'AP001';
                                END IF;
                                SELECT count(*) INTO unfinished FROM tasks
                                WHERE tasks.agent_id = candidate AND tasks.status IN ('queued', 'running');
                                IF unfinished >= p_max_queued THEN
                                    RAISE EXCEPTION USING ERRCODE = 'AP002';
                                END IF;
                                outcome := 'accepted';
                                task := agentpool_task_insert(ag, p_task, p_input, p_timeout, p_max_attempts, NULL, p_key);
                                RETURN NEXT;
                                RETURN;
                            EXCEPTION
                                WHEN SQLSTATE 'AP001' THEN NULL;                        -- no longer running
                                WHEN SQLSTATE 'AP002' THEN saw_running := true;         -- full
                                WHEN SQLSTATE 'AP003' THEN busy := busy || candidate;   -- locked: wait for it later
                            END;
                        END LOOP;
                    END LOOP;
                    outcome := CASE WHEN saw_running THEN 'queue_full' ELSE 'no_running_agent' END;
                    RETURN NEXT;
                END
                $fn$;

                -- Starts the next attempt of a queued task whose agent is placed on `p_process` (and should
                -- run). The agent row is read FOR SHARE first, so a termination in flight either ends first
                -- (and nothing starts) or waits for this start (and then cancels it).
                CREATE FUNCTION agentpool_task_start(p_task uuid, p_process uuid) RETURNS TABLE (outcome text, task tasks)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    t tasks;
                    owner_agent uuid;
                BEGIN
                    SELECT tasks.agent_id INTO owner_agent FROM tasks WHERE tasks.task_id = p_task;
                    PERFORM 1 FROM agents
                    WHERE agents.id = owner_agent AND agents.process_id = p_process AND agents.desired_state = 'running'
                    FOR SHARE;
                    IF NOT FOUND THEN
                        outcome := 'not_startable';
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    SELECT * INTO t FROM tasks WHERE tasks.task_id = p_task AND tasks.status = 'queued' FOR UPDATE;
                    IF NOT FOUND THEN
                        outcome := 'not_startable';
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    IF t.cancel_requested_at IS NOT NULL THEN
                        outcome := 'cancelled';
                        task := agentpool_task_end(p_task, 'cancelled', NULL, NULL);
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    IF t.not_before IS NOT NULL AND t.not_before > clock_timestamp() THEN
                        outcome := 'not_before';
                        task := t;
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    UPDATE tasks SET status = 'running', attempt = tasks.attempt + 1, owner = p_process, started_at = now(),
                        not_before = NULL, updated_at = now(), event_seq = tasks.event_seq + 1
                    WHERE tasks.task_id = p_task
                    RETURNING * INTO t;
                    INSERT INTO task_events (task_id, id, event, data)
                    VALUES (t.task_id, t.event_seq, 'started', jsonb_build_object('attempt', t.attempt));
                    outcome := 'started';
                    task := t;
                    RETURN NEXT;
                END
                $fn$;

                -- How attempt `p_attempt` of `p_owner` ended (`p_kind`: succeeded, failed, timed_out,
                -- cancelled), only while it is the running one. Success wins over a recorded cancel; else a
                -- cancel wins; a retryable failure or a timeout before max_attempts goes back to queued with
                -- the backoff of RetryBackoff (1 s doubling, at most 60 s); the last one ends failed, or
                -- timed_out when it timed out.
                CREATE FUNCTION agentpool_task_outcome(
                    p_task uuid, p_attempt int, p_owner uuid, p_kind text, p_output jsonb, p_error jsonb
                ) RETURNS SETOF tasks
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    t tasks;
                    failure jsonb;
                    timed_out boolean := p_kind = 'timed_out';
                BEGIN
                    SELECT * INTO t FROM tasks
                    WHERE tasks.task_id = p_task AND tasks.status = 'running' AND tasks.attempt = p_attempt AND tasks.owner = p_owner
                    FOR UPDATE;
                    IF NOT FOUND THEN
                        RETURN;
                    END IF;
                    IF p_kind = 'succeeded' THEN
                        RETURN NEXT agentpool_task_end(p_task, 'succeeded', p_output, NULL, false);
                        RETURN;
                    END IF;
                    IF p_kind = 'cancelled' OR t.cancel_requested_at IS NOT NULL THEN
                        RETURN NEXT agentpool_task_end(p_task, 'cancelled', NULL, NULL, timed_out);
                        RETURN;
                    END IF;
                    IF timed_out THEN
                        failure := jsonb_build_object('message', 'timed out after ' || t.timeout_seconds || ' s', 'retryable', true);
                    ELSE
                        failure := p_error;
                    END IF;
                    IF NOT COALESCE((failure ->> 'retryable')::boolean, false) THEN
                        RETURN NEXT agentpool_task_end(p_task, 'failed', NULL, failure, false);
                        RETURN;
                    END IF;
                    IF t.attempt >= t.max_attempts THEN
                        RETURN NEXT agentpool_task_end(p_task, CASE WHEN timed_out THEN 'timed_out' ELSE 'failed' END,
                            NULL, failure, timed_out);
                        RETURN;
                    END IF;
                    UPDATE tasks SET status = 'queued', owner = NULL, error = failure, last_attempt_timed_out = timed_out,
                        not_before = now() + make_interval(secs => least(60, power(2, least(greatest(tasks.attempt - 1, 0), 6)))),
                        updated_at = now(), event_seq = tasks.event_seq + 1
                    WHERE tasks.task_id = p_task
                    RETURNING * INTO t;
                    INSERT INTO task_events (task_id, id, event, data)
                    VALUES (t.task_id, t.event_seq, 'retrying',
                        jsonb_build_object('attempt', t.attempt, 'error', failure, 'retry_at', agentpool_rfc3339(t.not_before)));
                    RETURN NEXT t;
                END
                $fn$;

                -- Records a cancel (once). A queued task ends cancelled at once ('final'); a running one
                -- keeps running with the cancel recorded ('requested'); a final one is answered as it is.
                CREATE FUNCTION agentpool_task_cancel(p_task uuid) RETURNS TABLE (outcome text, task tasks)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    t tasks;
                BEGIN
                    SELECT * INTO t FROM tasks WHERE tasks.task_id = p_task FOR UPDATE;
                    IF NOT FOUND THEN
                        outcome := 'not_found';
                    ELSIF t.status NOT IN ('queued', 'running') THEN
                        outcome := 'final';
                        task := t;
                    ELSIF t.status = 'queued' THEN
                        UPDATE tasks SET cancel_requested_at = COALESCE(tasks.cancel_requested_at, now()) WHERE tasks.task_id = p_task;
                        outcome := 'final';
                        task := agentpool_task_end(p_task, 'cancelled', NULL, NULL);
                    ELSE
                        IF t.cancel_requested_at IS NULL THEN
                            UPDATE tasks SET cancel_requested_at = now(), updated_at = now() WHERE tasks.task_id = p_task
                            RETURNING * INTO t;
                        END IF;
                        outcome := 'requested';
                        task := t;
                    END IF;
                    RETURN NEXT;
                END
                $fn$;

                -- Ends cancelled a task whose cancel was recorded at least `p_grace` seconds ago and that
                -- still runs (its worker did not answer), or that waits queued; returns the task as it is now.
                CREATE FUNCTION agentpool_task_expire_cancel(p_task uuid, p_grace double precision) RETURNS SETOF tasks
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    t tasks;
                BEGIN
                    SELECT * INTO t FROM tasks WHERE tasks.task_id = p_task FOR UPDATE;
                    IF NOT FOUND THEN
                        RETURN;
                    END IF;
                    IF t.cancel_requested_at IS NOT NULL AND (t.status = 'queued'
                        OR (t.status = 'running' AND t.cancel_requested_at <= clock_timestamp() - make_interval(secs => p_grace)))
                    THEN
                        t := agentpool_task_end(p_task, 'cancelled', NULL, NULL);
                    END IF;
                    RETURN NEXT t;
                END
                $fn$;
                """)
}
