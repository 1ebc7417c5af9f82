import Postgres

extension AgentSchema {
    /// Batched task writes (`TaskStore.startAttempt`, `finishAttempt`, and `submit(agentID:)`
    /// without an idempotency key, under load): one
    /// statement and one commit for many attempts, each element run through the single-row
    /// function of migration 4 (`agentpool_task_start`, `agentpool_task_outcome`), so the policy
    /// exists once. Elements go in task id order, the order every statement that locks several
    /// tasks uses. An error in one element fails the whole statement (one transaction: nothing
    /// half-done); `TaskStore` keeps inputs that could fail alone (bad JSON) out of batches.
    static let taskBatchesMigration = PostgresMigration(
        version: 5, name: "batched attempt starts, outcomes and agent submits",
        sql: """
                -- Starts many attempts: element i is `agentpool_task_start(p_tasks[i], p_processes[i])`,
                -- answered as row `n` = i. The agents' rows are read FOR SHARE first, in id order and
                -- without waiting (SKIP LOCKED): holding one agent's lock while waiting for another's
                -- could deadlock with a statement that locks several agents in another order (a batched
                -- termination). An element whose agent row was busy (or whose task is unknown: the batch
                -- never looks for a row it did not lock) is answered 'busy', untouched, and the caller runs
                -- it alone, where waiting is safe.
                CREATE FUNCTION agentpool_start_attempts(p_tasks uuid[], p_processes uuid[])
                RETURNS TABLE (n int, outcome text, task tasks)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    held uuid[];
                    e record;
                    s record;
                BEGIN
                    IF cardinality(p_tasks) IS DISTINCT FROM cardinality(p_processes) THEN
                        RAISE EXCEPTION 'agentpool_start_attempts: % tasks but % processes',
                            cardinality(p_tasks), cardinality(p_processes);
                    END IF;
                    SELECT COALESCE(array_agg(locked.id), '{}') INTO held
                    FROM (
                        SELECT agents.id FROM agents
                        WHERE agents.id IN (SELECT tasks.agent_id FROM tasks WHERE tasks.task_id = ANY (p_tasks))
                        ORDER BY agents.id
                        FOR SHARE SKIP LOCKED
                    ) AS locked;
                    FOR e IN
                        SELECT v.i::int AS i, v.task_id, v.process_id, known.agent_id
                        FROM unnest(p_tasks, p_processes) WITH ORDINALITY AS v(task_id, process_id, i)
                        LEFT JOIN tasks AS known ON known.task_id = v.task_id
                        ORDER BY v.task_id
                    LOOP
                        n := e.i;
                        outcome := NULL;
                        task := NULL;
                        IF e.agent_id IS NULL OR NOT (e.agent_id = ANY (held)) THEN
                            outcome := 'busy';
                        ELSE
                            FOR s IN SELECT r.outcome AS o, r.task AS t FROM agentpool_task_start(e.task_id, e.process_id) AS r LOOP
                                outcome := s.o;
                                task := s.t;
                            END LOOP;
                        END IF;
                        RETURN NEXT;
                    END LOOP;
                END
                $fn$;

                -- Records many attempts' ends: element i is `agentpool_task_outcome(p_tasks[i],
                -- p_attempts[i], p_owners[i], p_kinds[i], output, error)`, where the output is element i
                -- of the JSON array `p_outputs` (used when the kind is 'succeeded') and the error element i
                -- of `p_errors` (used when it is 'failed'). Answers row `n` = i for each element that
                -- recorded something, none for a late or fenced answer. Only task rows are locked, in
                -- task id order.
                CREATE FUNCTION agentpool_finish_attempts(
                    p_tasks uuid[], p_attempts int[], p_owners uuid[], p_kinds text[], p_outputs jsonb, p_errors jsonb
                ) RETURNS TABLE (n int, task tasks)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    e record;
                    t tasks;
                BEGIN
                    IF cardinality(p_tasks) IS DISTINCT FROM cardinality(p_attempts)
                        OR cardinality(p_tasks) IS DISTINCT FROM cardinality(p_owners)
                        OR cardinality(p_tasks) IS DISTINCT FROM cardinality(p_kinds)
                        OR jsonb_array_length(p_outputs) IS DISTINCT FROM cardinality(p_tasks)
                        OR jsonb_array_length(p_errors) IS DISTINCT FROM cardinality(p_tasks)
                    THEN
                        RAISE EXCEPTION 'agentpool_finish_attempts: the arrays differ in length';
                    END IF;
                    FOR e IN
                        SELECT v.i::int AS i, v.task_id, v.attempt, v.owner_id, v.kind
                        FROM unnest(p_tasks, p_attempts, p_owners, p_kinds) WITH ORDINALITY AS v(task_id, attempt, owner_id, kind, i)
                        ORDER BY v.task_id
                    LOOP
                        SELECT * INTO t FROM agentpool_task_outcome(e.task_id, e.attempt, e.owner_id, e.kind,
                            CASE WHEN e.kind = 'succeeded' THEN p_outputs -> (e.i - 1) END,
                            CASE WHEN e.kind = 'failed' THEN p_errors -> (e.i - 1) END);
                        IF FOUND THEN
                            n := e.i;
                            task := t;
                            RETURN NEXT;
                        END IF;
                    END LOOP;
                END
                $fn$;

                -- Submits many tasks to agents, without idempotency keys: element i is
                -- `agentpool_submit_to_agent(p_agents[i], p_tasks[i], p_inputs -> (i - 1), p_timeouts[i],
                -- p_max_attempts[i], NULL, p_max_queued[i])`, answered as row `n` = i. The agents' rows are
                -- locked FOR UPDATE first, in id order and without waiting (SKIP LOCKED), and held to the
                -- end: each element's acceptance check, count and insert see the elements before it, so
                -- max_queued_tasks stays exact and a termination waits for the whole batch (or ends
                -- first). An element whose agent row was busy or unknown is answered 'busy', untouched,
                -- and the caller runs it alone, where waiting is safe. Elements of one agent keep their order.
                CREATE FUNCTION agentpool_submit_to_agents(
                    p_agents uuid[], p_tasks uuid[], p_inputs jsonb, p_timeouts double precision[], p_max_attempts int[],
                    p_max_queued int[]
                ) RETURNS TABLE (n int, outcome text, task tasks)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    held uuid[];
                    e record;
                    s record;
                BEGIN
                    IF cardinality(p_agents) IS DISTINCT FROM cardinality(p_tasks)
                        OR cardinality(p_agents) IS DISTINCT FROM cardinality(p_timeouts)
                        OR cardinality(p_agents) IS DISTINCT FROM cardinality(p_max_attempts)
                        OR cardinality(p_agents) IS DISTINCT FROM cardinality(p_max_queued)
                        OR jsonb_array_length(p_inputs) IS DISTINCT FROM cardinality(p_agents)
                    THEN
                        RAISE EXCEPTION 'agentpool_submit_to_agents: the arrays differ in length';
                    END IF;
                    SELECT COALESCE(array_agg(locked.id), '{}') INTO held
                    FROM (
                        SELECT agents.id FROM agents WHERE agents.id = ANY (p_agents)
                        ORDER BY agents.id
                        FOR UPDATE SKIP LOCKED
                    ) AS locked;
                    FOR e IN
                        SELECT v.i::int AS i, v.agent_id, v.task_id, v.timeout_seconds, v.attempts, v.max_queued
                        FROM unnest(p_agents, p_tasks, p_timeouts, p_max_attempts, p_max_queued) WITH ORDINALITY
                            AS v(agent_id, task_id, timeout_seconds, attempts, max_queued, i)
                        ORDER BY v.agent_id, v.i
                    LOOP
                        n := e.i;
                        outcome := NULL;
                        task := NULL;
                        IF NOT (e.agent_id = ANY (held)) THEN
                            outcome := 'busy';
                        ELSE
                            FOR s IN
                                SELECT r.outcome AS o, r.task AS t
                                FROM agentpool_submit_to_agent(e.agent_id, e.task_id, p_inputs -> (e.i - 1), e.timeout_seconds,
                                    e.attempts, NULL, e.max_queued) AS r
                            LOOP
                                outcome := s.o;
                                task := s.t;
                            END LOOP;
                        END IF;
                        RETURN NEXT;
                    END LOOP;
                END
                $fn$;
                """)
}
