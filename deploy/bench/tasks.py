"""Task measurements (contract section 5), the same client for AgentPool and the peer: the
round trip of a task with ?wait through one builtin echo agent and through the Python example
agent (exec), throughput across a pool of echo agents, a task in flight on a kill -9ed worker,
and the Redis memory each queued task takes. Every function returns plain numbers."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import cpu
from client import percentile, run_concurrently, wait_until

WAIT = 5  # seconds each submit waits for its task's end (?wait)
RECOVERY_TASK_SECONDS = 1.0  # the builtin sleep in flight when its worker dies
RETRY_BACKOFF = 1.0  # contract: an attempt lost with its worker runs again after 1 s


def summary(latencies):
    return {"count": len(latencies), "p50": percentile(latencies, 0.50), "p90": percentile(latencies, 0.90),
            "p99": percentile(latencies, 0.99), "max": max(latencies) if latencies else None}


def submit(gw, agent_id, task_input, wait=WAIT):
    return gw.request("POST", f"/api/v1/agents/{agent_id}/tasks?wait={wait}", {"input": task_input})


def submit_to_pool(gw, pool, task_input, wait=WAIT):
    return gw.request("POST", f"/api/v1/agents/pools/{pool}/tasks?wait={wait}", {"input": task_input})


def get_task(gw, task_id):
    status, payload, _ = gw.request("GET", f"/api/v1/tasks/{task_id}")
    if status != 200:
        raise RuntimeError(f"GET task {task_id}: status {status}: {payload}")
    return payload


def succeeded(answer):
    """(status, payload, seconds) of a submit with ?wait, with the status 'ok' only when the task
    ended succeeded within the wait: 202 (still running) or another outcome is not ok."""
    status, payload, elapsed = answer
    if status == 200 and isinstance(payload, dict) and payload.get("status") == "succeeded":
        return "ok", payload, elapsed
    if status == 200 and isinstance(payload, dict):
        return f"200 {payload.get('status')}", payload, elapsed
    return status, payload, elapsed


def spawn_agents(gw, pool, count):
    agents = []
    for index in range(count):
        status, payload, _ = gw.spawn(pool)
        if status != 201:
            raise RuntimeError(f"spawn {index + 1} into {pool}: status {status}: {payload}")
        agents.append(payload["agent_id"])
    return agents


def terminate(gw, agent_ids):
    for agent_id in agent_ids:
        gw.terminate(agent_id)


def workers_with_children(components):
    """Adds the children of the workers (an exec agent's own process) as their own component."""
    def groups(worker_pids):
        found = components(worker_pids)
        found["agent processes"] = [child for pid in worker_pids for child in cpu._children(pid)]
        return found
    return groups


def cpu_per_task(components, worker_pids, action, tasks_of):
    """Runs `action`, returns (its result, CPU ms per task by component)."""
    groups = components(worker_pids)
    before = cpu.snapshot(groups)
    result = action()
    after = cpu.snapshot(components(worker_pids))
    return result, cpu.per_operation(before, after, tasks_of(result))


def round_trips(gw, agent_id, count, warmup, task_input):
    """`count` sequential submits with ?wait (after `warmup` not counted); raises on the first
    task that did not succeed within the wait."""
    for index in range(warmup):
        submit(gw, agent_id, {**task_input, "warmup": index})
    latencies = []
    for index in range(count):
        status, payload, elapsed = succeeded(submit(gw, agent_id, {**task_input, "i": index}))
        if status != "ok":
            raise RuntimeError(f"task {index + 1}: {status}: {str(payload)[:200]}")
        latencies.append(elapsed)
    return latencies


def sequential_echo(gw, pool, count, warmup):
    """Round trip of a task with ?wait through one builtin echo agent, one after another."""
    agent_id = spawn_agents(gw, pool, 1)[0]
    try:
        return summary(round_trips(gw, agent_id, count, warmup, {"op": "echo"}))
    finally:
        terminate(gw, [agent_id])


def exec_round_trip(gw, pool, count, warmup, components, pool_workers):
    """The same through the Python example agent (an exec runtime: one child per agent), with
    the CPU per task by component, the agent's own process included."""
    agent_id = spawn_agents(gw, pool, 1)[0]
    try:
        latencies, per_task = cpu_per_task(
            workers_with_children(components), pool_workers(), lambda: round_trips(gw, agent_id, count, warmup, {"op": "echo"}),
            lambda got: count + warmup)
        return {**summary(latencies), "cpu_ms": per_task}
    finally:
        terminate(gw, [agent_id])


def throughput(gw, pool, agent_count, levels, count, components, pool_workers, log, wrk_seconds=0):
    """`count` tasks with ?wait from each number of client threads in `levels`, sent to the
    agents in turn (agent submits) and to the pool (pool submits), across `agent_count` echo
    agents; tasks/s of those that succeeded within the wait, the others counted, and the CPU
    per task by component. With `wrk_seconds`, the same with wrk's 32 connections for that
    long (client "wrk"; the threads are client "python")."""
    agents = spawn_agents(gw, pool, agent_count)
    results = []
    try:
        for agent_id in agents:  # every agent's lane and connections are warm
            submit(gw, agent_id, {"warmup": True})
        for clients in levels:
            for mode in ("agent", "pool"):
                if mode == "agent":
                    calls = [(lambda i=i: succeeded(submit(gw, agents[i % len(agents)], {"i": i})))
                             for i in range(count)]
                else:
                    calls = [(lambda i=i: succeeded(submit_to_pool(gw, pool, {"i": i}))) for i in range(count)]
                outcome, per_task = cpu_per_task(components, pool_workers(),
                                                 lambda: run_concurrently(calls, clients, "ok"),
                                                 lambda got: max(1, got.ok))
                result = {"client": "python", "mode": mode, "clients": clients, "count": count, "ok": outcome.ok,
                          "not_ok": count - outcome.ok, "seconds": outcome.seconds, "rate": outcome.rate(),
                          "errors": outcome.error_text(), "cpu_ms": per_task, **summary(outcome.latencies)}
                log(f"  {pool}: {mode} submits, {clients} clients: {outcome.ok}/{count} in {outcome.seconds:.2f} s = "
                    f"{result['rate']:.0f} tasks/s, p50 {(result['p50'] or 0) * 1000:.1f} ms"
                    + (f", not ok: {result['errors']}" if outcome.errors else ""))
                results.append(result)
        if wrk_seconds and shutil.which("wrk"):
            for mode, paths in (("agent", [f"/api/v1/agents/{a}/tasks" for a in agents]),
                                ("pool", [f"/api/v1/agents/pools/{pool}/tasks"])):
                got = wrk_throughput(gw.port, gw.headers["Authorization"].split(" ", 1)[1], paths, wrk_seconds, 32,
                                     components, pool_workers())
                result = {"client": "wrk", "mode": mode, "clients": 32, **got}
                log(f"  {pool}: {mode} submits, wrk 32 connections: {got['ok']}/{got['count']} ok, "
                    f"{got['rate']:.0f} tasks/s, p50 {(got['p50'] or 0) * 1000:.1f} ms")
                results.append(result)
    finally:
        terminate(gw, agents)
    return results


def host_pid(gw, pool, agent_id):
    """(process id, pid) of the worker hosting the agent."""
    status, agent, _ = gw.request("GET", f"/api/v1/agents/{agent_id}")
    if status != 200:
        raise RuntimeError(f"GET agent {agent_id}: status {status}: {agent}")
    for worker in gw.pool(pool)["workers"]:
        if worker["process_id"] == agent["process_id"]:
            return worker["process_id"], worker["pid"]
    raise RuntimeError(f"the worker {agent['process_id']} hosting {agent_id} is not listed in {pool}")


def recovery(gw, pool, stale_after, heartbeat, kill=None, timeout=60):
    """A builtin sleep of RECOVERY_TASK_SECONDS in flight when its worker gets kill -9: seconds
    from the kill until the task runs again (attempt 2 started) and until its final outcome;
    `net` takes off the retry backoff and the task's own second, leaving what recovery adds.
    `kill(pid)` kills the host (os.kill by default)."""
    agent_id = spawn_agents(gw, pool, 1)[0]
    try:
        status, task, _ = submit(gw, agent_id, {"seconds": RECOVERY_TASK_SECONDS}, wait=0)
        if status not in (200, 202):
            raise RuntimeError(f"submit: status {status}: {task}")
        task_id = task["task_id"]
        wait_until(lambda: get_task(gw, task_id)["status"] == "running", 30, 0.005, "the task to start")
        time.sleep(0.2)  # well inside its second: the attempt is in flight
        process_id, pid = host_pid(gw, pool, agent_id)
        start = time.perf_counter()
        (kill or (lambda p: os.kill(p, signal.SIGKILL)))(pid)
        restarted = None
        deadline = start + timeout
        while True:
            seen = get_task(gw, task_id)
            now = time.perf_counter()
            if restarted is None and seen["attempt"] >= 2 and seen["status"] != "queued":
                restarted = now - start
            if seen["status"] in ("succeeded", "failed", "cancelled", "timed_out"):
                final = now - start
                break
            if now > deadline:
                raise TimeoutError(f"task {task_id} not final {timeout} s after the kill: {seen['status']}")
            time.sleep(0.005)
        if seen["status"] != "succeeded":
            raise RuntimeError(f"task {task_id} ended {seen['status']} after the kill: {seen.get('error')}")
        return {"restarted": restarted, "final": final, "attempts": seen["attempt"],
                "net": final - RETRY_BACKOFF - RECOVERY_TASK_SECONDS, "task_seconds": RECOVERY_TASK_SECONDS,
                "backoff": RETRY_BACKOFF, "stale_after": stale_after, "heartbeat": heartbeat,
                "killed_process": process_id}
    finally:
        terminate(gw, [agent_id])


def redis_used_memory(redis_cli):
    """Redis's used_memory in bytes: the median of three readings."""
    readings = []
    for _ in range(3):
        out = subprocess.run(redis_cli + ["INFO", "memory"], check=True, capture_output=True, text=True,
                             timeout=30).stdout
        for line in out.splitlines():
            if line.startswith("used_memory:"):
                readings.append(int(line.split(":", 1)[1]))
        time.sleep(0.05)
    if not readings:
        raise RuntimeError("INFO memory has no used_memory")
    return sorted(readings)[len(readings) // 2]


def queued_memory(gw, pool, count, redis_cli):
    """Redis memory per queued task: one agent (task_concurrency 1) busy with a long sleep,
    then `count` tasks queued behind it; (used_memory after - before) / count, and the size of
    each task's input as JSON."""
    agent_id = spawn_agents(gw, pool, 1)[0]
    try:
        status, task, _ = submit(gw, agent_id, {"seconds": 600}, wait=0)
        if status != 202:
            raise RuntimeError(f"submit of the long sleep: status {status}: {task}")
        wait_until(lambda: get_task(gw, task["task_id"])["status"] == "running", 30, 0.01, "the long sleep to start")
        time.sleep(0.5)
        before = redis_used_memory(redis_cli)
        inputs = [{"seconds": 0.001, "n": index} for index in range(count)]
        outcome = run_concurrently([(lambda x=x: submit(gw, agent_id, x, wait=0)) for x in inputs], 8, 202)
        if outcome.errors:
            raise RuntimeError(f"queueing {count} tasks: {outcome.error_text()}")
        time.sleep(0.5)
        after = redis_used_memory(redis_cli)
        input_bytes = sum(len(json.dumps(x, separators=(",", ":"))) for x in inputs) / count
        per_task = (after - before) / count
        return {"count": count, "before": before, "after": after, "per_task": per_task,
                "input_bytes": input_bytes, "beyond_input": per_task - input_bytes}
    finally:
        terminate(gw, [agent_id])


def _milliseconds(text):
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_throughput(port, key, paths, seconds, connections, components, worker_pids):
    """Task throughput with wrk (a client in C, so the figure is not bounded by Python's): for
    `seconds`, `connections` keep-alive connections submit tasks with ?wait to `paths` in turn
    (task_load.lua); tasks/s that succeeded, p50/p99, the answers that were not a succeeded
    task, and the CPU per task by component."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "task_load.lua")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script,
               f"http://127.0.0.1:{port}", "--", key] + [f"{p}?wait={WAIT}" for p in paths]
    before = cpu.snapshot(components(worker_pids))
    children = os.times()
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    done = os.times()
    after = cpu.snapshot(components(worker_pids))
    # The client is wrk here, a child of the bench: its CPU, not the bench's own.
    wrk_cpu = done.children_user + done.children_system - children.children_user - children.children_system
    after["bench client"] = {pid: before["bench client"].get(pid, 0.0) + wrk_cpu for pid in after["bench client"]}
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    not_ok = re.search(r"NOT_OK (\d+)", output)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.M))
    if not rate or not total or not not_ok:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    requests, bad = int(total.group(1)), int(not_ok.group(1))
    ok_rate = float(rate.group(1)) * (requests - bad) / requests if requests else 0.0
    return {"rate": ok_rate, "count": requests, "ok": requests - bad, "not_ok": bad, "errors": "",
            "p50": _milliseconds(latency["50"]) / 1000 if "50" in latency else None,
            "p99": _milliseconds(latency["99"]) / 1000 if "99" in latency else None,
            "cpu_ms": cpu.per_operation(before, after, max(1, requests - bad))}
