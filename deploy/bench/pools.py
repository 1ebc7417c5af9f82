"""The bench's pools, one per measurement so that none disturbs another, written as a pool file
for AgentPool and as one for the peer (../shared/peer, the Python implementation of the same
design), which knows fewer settings: no `idle_timeout`, only its own worker launcher."""

import json
import os

FAILOVER_HEARTBEAT, FAILOVER_STALE = 0.5, 1.5
# Task pools run with the same timings as the agent failover pools.
TASK_HEARTBEAT, TASK_STALE = FAILOVER_HEARTBEAT, FAILOVER_STALE
# The peer scales up but never down: each cold burst gets a pool of its own there. Its bursts
# run at 8 and 32 clients (a quick run: its cold burst at 8 only, which takes it 5-40 s here).
PEER_WARM_LEVELS = (8, 32)
# A peer worker reads each agent's task stream with a blocking call on a connection of its
# own from redis-py's pool, which holds at most 100 (redis-py 8's default): a worker with more
# agents fails their spawns ("Too many connections"). Its pools that hold hundreds of agents
# get as many workers of PEER_SLOTS slots, all started before the measurement.
PEER_SLOTS = 80


def peer_cold_levels(quick):
    return (8,) if quick else (8, 32)


def counts(quick):
    return {
        "sequential": 100 if quick else 500, "warmup": 10 if quick else 20,
        "pairs": 100 if quick else 300,
        "warm_burst": 200 if quick else 1000, "levels": (8, 32, 64),
        "cold_slots": 10, "cold_workers": 20,
        "autoscale": 5 if quick else 20, "memory": 200 if quick else 1000,
        "wrk_seconds": 3 if quick else 10,
        # tasks
        "task_sequential": 200 if quick else 1000, "task_warmup": 10 if quick else 50,
        "task_agents": 20, "task_levels": (8, 32), "task_throughput": 600 if quick else 4000,
        "exec_sequential": 100 if quick else 1000,
        "queued": 300 if quick else 2000,
    }


def scale_pool_names(c):
    """Two measured launches per pool: a pool's first two scale-ups are exact, later ones grow
    geometrically and launch ahead, so a spawn would no longer wait for its own worker."""
    return [f"scale_pool_{index}" for index in range((c["autoscale"] + 1) // 2)]


def exec_agent(repo):
    """The Python example agent, when this checkout has it."""
    path = os.path.join(repo, "examples", "agents", "python", "agent.py")
    return path if os.path.isfile(path) else None


def definitions(quick, repo):
    """(name, what it measures, settings) of every pool; `launcher: external` pools exist only
    in AgentPool's file."""
    c = counts(quick)
    fast = {"heartbeat_interval": 0.5, "stale_after": 5, "idle_timeout": 1}
    fault = {"heartbeat_interval": FAILOVER_HEARTBEAT, "stale_after": FAILOVER_STALE}
    pools = [
        ("seq_pool", "sequential spawn and terminate latency, one agent at a time",
         {"max_agents_per_process": 1000, "min_workers": 1, "max_workers": 1}),
        ("warm_pool", "warm bursts (its workers exist from the start)",
         {"max_agents_per_process": c["warm_burst"] // 4, "min_workers": 4, "max_workers": 4}),
        ("cold_pool", "cold bursts: grows from 1 to 20 workers",
         {"max_agents_per_process": c["cold_slots"], "min_workers": 1, "max_workers": c["cold_workers"], **fast}),
    ]
    pools += [(name, "autoscale: one slot per worker, so each of the first two spawns after the idle worker launches one",
               {"max_agents_per_process": 1, "min_workers": 1, "max_workers": 3, **fast})
              for name in scale_pool_names(c)]
    pools += [
        ("mem_pool", "memory: one worker holding up to 1,000 agents",
         {"max_agents_per_process": 1000, "min_workers": 1, "max_workers": 1}),
        ("fo_child", "failover of a manager's own child",
         {"max_agents_per_process": 10, "min_workers": 1, "max_workers": 3, **fault}),
        ("fo_ext", "failover of an externally started worker",
         {"launcher": "external", "max_agents_per_process": 10, "min_workers": 0, "max_workers": 2, **fault}),
        ("task_echo", "tasks: sequential echo round trip with ?wait through one agent",
         {"max_agents_per_process": 10, "min_workers": 1, "max_workers": 1,
          "runtime": {"kind": "builtin", "name": "echo"}}),
        ("task_tput", f"tasks: throughput across {c['task_agents']} echo agents on 2 workers",
         {"max_agents_per_process": c["task_agents"] // 2, "min_workers": 2, "max_workers": 2,
          "runtime": {"kind": "builtin", "name": "echo"}, "max_queued_tasks": 1000}),
        ("task_queue", "tasks: Redis memory per queued task (one agent busy with a long sleep)",
         {"max_agents_per_process": 10, "min_workers": 1, "max_workers": 1,
          "runtime": {"kind": "builtin", "name": "sleep"}, "task_concurrency": 1,
          "max_queued_tasks": c["queued"] + 10}),
        ("task_fo_child", "tasks: a task in flight on a killed child of the manager",
         {"max_agents_per_process": 10, "min_workers": 2, "max_workers": 3,
          "runtime": {"kind": "builtin", "name": "sleep"}, **fault}),
        ("task_fo_ext", "tasks: a task in flight on a killed external worker",
         {"launcher": "external", "max_agents_per_process": 10, "min_workers": 0, "max_workers": 2,
          "runtime": {"kind": "builtin", "name": "sleep"}, **fault}),
    ]
    agent = exec_agent(repo)
    if agent:
        pools.append(("task_exec", "tasks: exec round trip to the Python example agent",
                      {"max_agents_per_process": 10, "min_workers": 1, "max_workers": 1,
                       "runtime": {"kind": "exec", "command": ["python3", agent]}}))
    return pools


def peer_definitions(quick, repo):
    """The same pools for the peer, those it is measured on: without `launcher: external`
    pools and `idle_timeout`, and with one cold pool per burst level (the peer never retires a
    worker)."""
    pools = []
    for name, what, settings in definitions(quick, repo):
        if settings.get("launcher") == "external" or name in ("mem_pool", "fo_child"):
            continue  # not measured on the peer
        kept = {k: v for k, v in settings.items() if k not in ("idle_timeout", "launcher")}
        if name in ("seq_pool", "warm_pool"):
            workers = peer_workers(quick, name)
            kept.update(max_agents_per_process=PEER_SLOTS, min_workers=workers, max_workers=workers)
        if name == "cold_pool":
            pools += [(f"cold_pool_{level}", f"{what} ({level} clients)", kept) for level in peer_cold_levels(quick)]
        else:
            pools.append((name, what, kept))
    return pools


def peer_workers(quick, name):
    """Workers of the peer's seq_pool or warm_pool: enough PEER_SLOTS-slot workers for all the
    agents the measurement holds at once."""
    c = counts(quick)
    agents = c["sequential"] + c["warmup"] if name == "seq_pool" else c["warm_burst"]
    return -(-agents // PEER_SLOTS)


def _value(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value)  # JSON flow style is YAML
    return str(value)


def render(pools, title):
    lines = [f"# {title} (deploy/bench/pools.py), one pool per measurement.",
             "defaults:", "  heartbeat_interval: 30", "  stale_after: 300"]
    if not title.startswith("The peer"):
        lines.append("  idle_timeout: 600")
    lines.append("pools:")
    for name, what, settings in pools:
        lines.append(f"  - name: {name}    # {what}")
        role = "scale" if name.startswith("scale_pool") else name.removesuffix("_pool")
        lines.append(f"    role: {role}")
        lines += [f"    {key}: {_value(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def pool_file(quick, repo):
    return render(definitions(quick, repo), "The AgentPool benchmark's pools")


def peer_pool_file(quick, repo, prefixes):
    """The peer's pools whose names start with one of `prefixes`: the peer runs one group of
    measurements at a time (its one gateway process leads every pool; with all of them and
    their Python workers starting at once on 2 busy cores it lost its leases)."""
    chosen = [p for p in peer_definitions(quick, repo) if p[0].startswith(tuple(prefixes))]
    return render(chosen, "The peer's pools for the side-by-side benchmark")


def count(quick, repo):
    return len(definitions(quick, repo))
