"""The AgentPool measurements, each on its own pool of the bench pool file so that they do
not disturb each other. Every function returns plain numbers (seconds, counts, bytes)."""

import os
import signal
import subprocess
import time

import cpu
from client import percentile, run_concurrently, wait_until


def rss_bytes(pid):
    """VmRSS of a live process, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def memory_detail(pid):
    """RSS, PSS and private (USS) bytes of a live process, from smaps_rollup: RSS counts every
    shared-library page in full, PSS shares them out among the processes mapping them."""
    values = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                values[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return {"rss": values.get("Rss", 0), "pss": values.get("Pss", 0),
            "private": values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)}


def summary(latencies):
    return {
        "count": len(latencies),
        "p50": percentile(latencies, 0.50),
        "p90": percentile(latencies, 0.90),
        "p99": percentile(latencies, 0.99),
        "max": max(latencies) if latencies else None,
    }


def workers(gw, pool):
    return gw.pool(pool)["workers"]


def wait_for_workers(gw, pool, count, timeout=90):
    """Waits until the pool has exactly `count` ready workers, each with every slot free."""
    def settled():
        listed = workers(gw, pool)
        # "ready" in AgentPool, "running" in the peer
        return len(listed) == count and all(w["status"] in ("ready", "running") and w["agent_count"] == 0
                                            for w in listed)
    try:
        wait_until(settled, timeout, 0.25, f"{pool} to have {count} idle worker(s)")
    except TimeoutError as error:
        seen = ", ".join(f"{w['process_id'][:8]} {w['status']} agents={w['agent_count']} free={w['available']}"
                         for w in workers(gw, pool))
        raise TimeoutError(f"{error}; workers: {seen}") from None


def spawn_sequentially(gw, pool, count):
    """Spawns `count` agents one after another; returns (latencies, agents)."""
    latencies, agents = [], []
    for index in range(count):
        status, payload, elapsed = gw.spawn(pool)
        if status != 201:
            raise RuntimeError(f"spawn {index + 1} into {pool}: status {status}: {payload}")
        latencies.append(elapsed)
        agents.append(payload)
    return latencies, agents


def terminate_sequentially(gw, agent_ids):
    latencies = []
    for agent_id in agent_ids:
        status, payload, elapsed = gw.terminate(agent_id)
        if status != 200:
            raise RuntimeError(f"terminate {agent_id}: status {status}: {payload}")
        latencies.append(elapsed)
    return latencies


def sequential(gw, pool, count, warmup, pairs=0):
    """Sequential spawn latency, then sequential terminate latency of the same agents. The
    first `warmup` spawns (connections, script loads) are not counted. Then `pairs` times one
    agent at a time: spawn it, terminate it (the pool never holds more than one)."""
    _, warm = spawn_sequentially(gw, pool, warmup)
    spawn_latencies, agents = spawn_sequentially(gw, pool, count)
    # Single reads on the same path, to price one step: a PostgreSQL select (GET agent) and
    # two rounds of Redis calls (GET one pool), each through the services' thread hops.
    reads = {}
    for name, path in (("agent", f"/api/v1/agents/{agents[0]['agent_id']}"), ("pool", f"/api/v1/agents/pools/{pool}")):
        reads[name] = summary([gw.request("GET", path)[2] for _ in range(min(count, 300))])
    terminate_latencies = terminate_sequentially(gw, [a["agent_id"] for a in agents + warm])
    one_spawn, one_terminate = [], []
    for _ in range(pairs):
        lat, spawned = spawn_sequentially(gw, pool, 1)
        one_spawn += lat
        one_terminate += terminate_sequentially(gw, [spawned[0]["agent_id"]])
    return {"spawn": summary(spawn_latencies), "terminate": summary(terminate_latencies[:count]), "reads": reads,
            "pair_spawn": summary(one_spawn), "pair_terminate": summary(one_terminate)}


def burst(gw, pool, count, clients):
    """`count` spawns from `clients` concurrent clients; returns (result, agent ids)."""
    outcome = run_concurrently([lambda: gw.spawn(pool)] * count, clients, 201)
    result = {"clients": clients, "count": count, "ok": outcome.ok, "seconds": outcome.seconds,
              "rate": outcome.rate(), "errors": outcome.error_text(), **summary(outcome.latencies)}
    return result, [p["agent_id"] for p in outcome.payloads]


def terminate_all(gw, agent_ids, clients=32):
    outcome = run_concurrently([(lambda i=i: gw.terminate(i)) for i in agent_ids], clients, 200)
    return {"clients": clients, "count": len(agent_ids), "ok": outcome.ok, "seconds": outcome.seconds,
            "rate": outcome.rate(), "errors": outcome.error_text(), **summary(outcome.latencies)}


def bursts(gw, pool, count, levels, idle_workers, log, components):
    """Bursts at each concurrency level into `pool`, each starting from `idle_workers` idle
    workers, and each followed by terminating its agents with 32 clients. Also returns the
    CPU milliseconds per spawn and per terminate by component, over all levels
    (`components(worker pids)` names the processes of each component)."""
    results, terminations = [], []
    cpu_ms = {"spawn": {}, "terminate": {}}
    done = {"spawn": 0, "terminate": 0}

    def measured(kind, action):
        before = cpu.snapshot(components([w["pid"] for w in workers(gw, pool)]))
        result = action()
        after = cpu.snapshot(components([w["pid"] for w in workers(gw, pool)]))
        for name, total in cpu.per_operation(before, after, 1).items():
            cpu_ms[kind][name] = cpu_ms[kind].get(name, 0.0) + total
        return result

    for clients in levels:
        wait_for_workers(gw, pool, idle_workers)
        result, ids = measured("spawn", lambda: burst(gw, pool, count, clients))
        done["spawn"] += result["ok"]
        result["workers_after"] = len(workers(gw, pool))
        log(f"  {pool}: {clients} clients: {result['ok']}/{count} in {result['seconds']:.2f} s = "
            f"{result['rate']:.0f}/s, p50 {result['p50'] * 1000:.1f} ms, {result['workers_after']} workers"
            + (f", errors: {result['errors']}" if result["errors"] else ""))
        results.append(result)
        terminated = measured("terminate", lambda: terminate_all(gw, ids))
        done["terminate"] += terminated["ok"]
        log(f"  {pool}: terminated {terminated['ok']}/{len(ids)} with 32 clients: {terminated['rate']:.0f}/s"
            + (f", errors: {terminated['errors']}" if terminated["errors"] else ""))
        terminations.append(terminated)
    per_op = {kind: {name: total / max(1, done[kind]) for name, total in totals.items()}
              for kind, totals in cpu_ms.items()}
    return results, terminations, per_op


def autoscale(gw, pools, launches_per_pool):
    """Pools with one slot per worker and one idle worker each: the first spawn takes it, each
    of the next `launches_per_pool` needs a new worker (a pool's first scale-ups launch exactly
    what is missing; later ones grow geometrically and launch ahead, which would hide the
    launch). Returns the latencies of the spawns that waited for a launch."""
    latencies, agents, launched = [], [], 0
    for pool in pools:
        wait_for_workers(gw, pool, 1)
        _, first = spawn_sequentially(gw, pool, 1)
        agents += first
        for _ in range(launches_per_pool):
            time.sleep(0.2)  # let the previous worker finish starting up
            lat, spawned = spawn_sequentially(gw, pool, 1)
            latencies += lat
            agents += spawned
        launched += len(workers(gw, pool)) - 1
    terminate_all(gw, [a["agent_id"] for a in agents])
    return {**summary(latencies), "workers_launched": launched}


def memory(gw, pool, count, log):
    """RSS of the pool's only worker idle, with 10 agents and with `count` agents."""
    wait_for_workers(gw, pool, 1)
    pid = workers(gw, pool)[0]["pid"]
    idle = rss_bytes(pid)
    idle_detail = memory_detail(pid)
    _, ten = spawn_sequentially(gw, pool, 10)
    time.sleep(1)
    with_ten = rss_bytes(pid)
    outcome = run_concurrently([lambda: gw.spawn(pool)] * (count - 10), 32, 201)
    if outcome.errors:
        raise RuntimeError(f"spawning {count} agents into {pool}: {outcome.error_text()}")
    time.sleep(1)
    with_many = rss_bytes(pid)
    log(f"  worker rss: idle {idle / 2**20:.1f} MiB, 10 agents {with_ten / 2**20:.1f} MiB, "
        f"{count} agents {with_many / 2**20:.1f} MiB")
    ids = [a["agent_id"] for a in ten] + [p["agent_id"] for p in outcome.payloads]
    terminate_all(gw, ids)
    return {"idle": idle, "idle_pss": idle_detail["pss"], "idle_private": idle_detail["private"], "ten": with_ten, "many": with_many, "count": count,
            "per_agent": (with_many - with_ten) / (count - 10)}


def await_moved(gw, pool, agent_ids, dead_process, timeout=30):
    """Polls the agents list until every agent runs on a worker other than `dead_process`."""
    wanted = set(agent_ids)

    def moved():
        running = {a["agent_id"]: a["process_id"] for a in gw.running_agents(pool)}
        return all(running.get(i) not in (None, dead_process) for i in wanted)
    wait_until(moved, timeout, 0.005, f"{len(wanted)} agents of {pool} to run elsewhere")


def failover_child(gw, pool):
    """Fills the pool's first worker with 10 agents, grows a second one and empties it, then
    kill -9 the first (a child of the manager): seconds until all 10 run on the second."""
    wait_for_workers(gw, pool, 1)
    victim = workers(gw, pool)[0]
    _, agents = spawn_sequentially(gw, pool, victim["max_agents"])
    _, extra = spawn_sequentially(gw, pool, victim["max_agents"])  # launches a second worker
    terminate_sequentially(gw, [a["agent_id"] for a in extra])
    wait_for_workers_hosting(gw, pool, {victim["process_id"]: len(agents)})
    start = time.perf_counter()
    os.kill(victim["pid"], signal.SIGKILL)
    await_moved(gw, pool, [a["agent_id"] for a in agents], victim["process_id"])
    return {"seconds": time.perf_counter() - start, "agents": len(agents)}


def wait_for_workers_hosting(gw, pool, hosting, timeout=30):
    """Waits until the pool's workers are exactly those named (process id -> agents hosted)
    plus one empty worker."""
    def settled():
        listed = {w["process_id"]: w["agent_count"] for w in workers(gw, pool)}
        rest = [count for pid, count in listed.items() if pid not in hosting]
        return all(listed.get(p) == c for p, c in hosting.items()) and rest == [0]
    wait_until(settled, timeout, 0.1, f"{pool}: a full worker and an empty one")


def start_external_worker(bin_dir, stack, pool, pool_file):
    """Starts a worker the way an orchestrator would: the stack's environment, own session."""
    log_file = open(os.path.join(stack, "logs", f"external-worker-{pool}.log"), "ab")
    command = ["bash", "-c", 'source "$0" && exec "$@"', os.path.join(stack, "agentpool.env"),
               os.path.join(bin_dir, "worker"), "--pool", pool, "--config", pool_file]
    return subprocess.Popen(command, cwd=stack, stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def failover_external(gw, pool, bin_dir, stack, pool_file, started):
    """Two externally started workers (heartbeat and stale_after from the pool file): the
    first hosts 10 agents, then kill -9: seconds until all 10 run on the second."""
    first = start_external_worker(bin_dir, stack, pool, pool_file)
    started.append(first)
    wait_for_workers(gw, pool, 1)
    victim = workers(gw, pool)[0]
    _, agents = spawn_sequentially(gw, pool, victim["max_agents"])
    second = start_external_worker(bin_dir, stack, pool, pool_file)
    started.append(second)
    wait_for_workers_hosting(gw, pool, {victim["process_id"]: len(agents)})
    start = time.perf_counter()
    os.kill(first.pid, signal.SIGKILL)
    await_moved(gw, pool, [a["agent_id"] for a in agents], victim["process_id"])
    seconds = time.perf_counter() - start
    first.wait()
    return {"seconds": seconds, "agents": len(agents)}
