import Postgres

extension AgentSchema {
    /// An attempt's start locks its task and no agent row.
    ///
    /// Migration 4's start read the agent's row `FOR SHARE` before locking the task. Every submit
    /// to that agent locks the same row `FOR UPDATE` (its task numbers and queue limit), so under
    /// load starts and submits of one agent took turns: half of a batch's starts found the row
    /// busy and ran again alone, and submits waited 0.66 ms on average for the lock
    /// (pg_stat_statements, wrk with 16 connections on 8 echo agents, docs/benchmarks.md).
    ///
    /// The start now locks the task row first and then reads the agent's row in a fresh
    /// snapshot (plpgsql takes one per statement), which answers the same question without the
    /// lock. A termination in flight either committed before that read (the agent should not
    /// run: nothing starts; its tasks are already cancelled anyway), or commits after the start:
    /// it locks the agent's tasks in task id order, waits for this start's commit, sees the task
    /// `running` and cancels it, the order in which the shared lock had serialized the two. A
    /// task the termination locked first is `cancelled` by the time the start gets its lock, so
    /// the start finds nothing queued. Either way exactly one outcome, as before.
    ///
    /// A batch of starts holds no agent rows any more, so no element is ever `busy`: each locks
    /// its task in task id order, the order every statement that locks several tasks uses, and
    /// may wait for it.
    static let taskStartLocksMigration = PostgresMigration(
        version: 7, name: "attempt starts lock the task, not the agent",
        sql: """
                CREATE OR REPLACE FUNCTION agentpool_task_start(p_task uuid, p_process uuid)
                RETURNS TABLE (outcome text, task tasks)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    t tasks;
                BEGIN
                    SELECT * INTO t FROM tasks WHERE tasks.task_id = p_task AND tasks.status = 'queued' FOR UPDATE;
                    IF NOT FOUND THEN
                        outcome := 'not_startable';
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    -- Read after the task's lock, in a snapshot of its own: see the migration's comment.
                    PERFORM 1 FROM agents
                    WHERE agents.id = t.agent_id AND agents.process_id = p_process AND agents.desired_state = 'running';
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

                -- Starts many attempts: element i is `agentpool_task_start(p_tasks[i], p_processes[i])`,
                -- answered as row `n` = i, in task id order.
                CREATE OR REPLACE FUNCTION agentpool_start_attempts(p_tasks uuid[], p_processes uuid[])
                RETURNS TABLE (n int, outcome text, task tasks)
                LANGUAGE plpgsql VOLATILE AS $fn$
                DECLARE
                    e record;
                    s record;
                BEGIN
                    IF cardinality(p_tasks) IS DISTINCT FROM cardinality(p_processes) THEN
                        RAISE EXCEPTION 'agentpool_start_attempts: % tasks but % processes',
                            cardinality(p_tasks), cardinality(p_processes);
                    END IF;
                    FOR e IN
                        SELECT v.i::int AS i, v.task_id, v.process_id
                        FROM unnest(p_tasks, p_processes) WITH ORDINALITY AS v(task_id, process_id, i)
                        ORDER BY v.task_id
                    LOOP
                        n := e.i;
                        FOR s IN SELECT r.outcome AS o, r.task AS t FROM agentpool_task_start(e.task_id, e.process_id) AS r LOOP
                            outcome := s.o;
                            task := s.t;
                        END LOOP;
                        RETURN NEXT;
                    END LOOP;
                END
                $fn$;
                """)
}
