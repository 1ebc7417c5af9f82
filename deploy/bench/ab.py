"""Interleaved A/B of two AgentPool builds on one machine: the same client alternates
between two stacks that run side by side (`deploy/bench/ab` starts them), round by round,
so that the load other tenants put on a shared machine falls on both alike. Each round
measures, on each stack in turn (the order alternates): one agent at a time (spawn, then
terminate it), sequential echo tasks with `?wait`, a warm burst of spawns from 8
clients followed by terminating them, and (with wrk installed) echo tasks with `?wait` from
wrk's 16 connections over 8 agents for a few seconds. Prints every round and the median of the rounds, with
the ratio (A ÷ B for times, B ÷ A for rates: above 1 means B is better). Standard library
only."""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

from client import Gateway, percentile, run_concurrently, wait_until

POOL = "ab_pool"
ECHO_POOL = "ab_echo"


def pool_file():
    return f"""defaults:
  heartbeat_interval: 1
  stale_after: 10
pools:
  - name: {POOL}
    role: developer
    max_agents_per_process: 200
    min_workers: 1
    max_workers: 1
  - name: {ECHO_POOL}
    role: tester
    max_agents_per_process: 10
    min_workers: 1
    max_workers: 1
    runtime: {{kind: builtin, name: echo}}
"""


def ms(seconds):
    return seconds * 1000


def one_at_a_time(gw, pairs):
    spawns, terminates = [], []
    for index in range(pairs):
        status, agent, spawn_time = gw.spawn(POOL)
        if status != 201:
            raise RuntimeError(f"spawn {index}: {status} {agent}")
        status, payload, terminate_time = gw.terminate(agent["agent_id"])
        if status != 200:
            raise RuntimeError(f"terminate {index}: {status} {payload}")
        spawns.append(spawn_time)
        terminates.append(terminate_time)
    return spawns, terminates


def echo_round_trips(gw, agent_id, count):
    times = []
    for index in range(count):
        status, task, elapsed = gw.request("POST", f"/api/v1/agents/{agent_id}/tasks?wait=5", {"input": {"n": index}})
        if status != 200 or task.get("status") != "succeeded":
            raise RuntimeError(f"echo task {index}: {status} {task}")
        times.append(elapsed)
    return times


def burst(gw, count, clients):
    spawned = run_concurrently([lambda: gw.spawn(POOL)] * count, clients, 201)
    ids = [agent["agent_id"] for agent in spawned.payloads]
    terminated = run_concurrently([(lambda i=i: gw.terminate(i)) for i in ids], clients, 200)
    if spawned.errors or terminated.errors:
        raise RuntimeError(f"burst errors: spawn {spawned.error_text()}, terminate {terminated.error_text()}")
    return spawned.rate(), terminated.rate()


def task_load(gw, agent_ids, seconds):
    """Echo tasks with ?wait from wrk (a client in C, not bounded by Python's GIL): 16
    connections over the agents in turn for `seconds`; tasks/s that succeeded."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "task_load.lua")
    key = gw.headers["Authorization"].split(" ", 1)[1]
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "-s", script, f"http://127.0.0.1:{gw.port}", "--", key]
    command += [f"/api/v1/agents/{a}/tasks?wait=5" for a in agent_ids]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    not_ok = re.search(r"NOT_OK (\d+)", output)
    if not rate or not total or not not_ok:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    if int(not_ok.group(1)):
        raise RuntimeError(f"wrk: {not_ok.group(1)} of {total.group(1)} tasks did not succeed")
    return float(rate.group(1))


def measure(gw, agents, args):
    spawns, terminates = one_at_a_time(gw, args.pairs)
    echoes = echo_round_trips(gw, agents[0], args.tasks)
    spawn_rate, terminate_rate = burst(gw, args.burst, 8)
    figures = {
        "spawn p50": ms(percentile(spawns, 0.5)), "spawn p99": ms(percentile(spawns, 0.99)),
        "terminate p50": ms(percentile(terminates, 0.5)), "terminate p99": ms(percentile(terminates, 0.99)),
        "echo ?wait p50": ms(percentile(echoes, 0.5)), "echo ?wait p99": ms(percentile(echoes, 0.99)),
        "burst spawns/s (8 clients)": spawn_rate, "burst terminates/s (8 clients)": terminate_rate,
    }
    if args.task_seconds and shutil.which("wrk"):
        figures["echo tasks/s (wrk, 16 connections)"] = task_load(gw, agents, args.task_seconds)
    return figures


def prepare(gw, label):
    wait_until(lambda: all(len(gw.pool(p).get("workers", [])) >= 1 for p in (POOL, ECHO_POOL)), 120,
               what=f"the workers of stack {label}")
    agents = []
    for _ in range(8):
        status, agent, _ = gw.spawn(ECHO_POOL)
        if status != 201:
            raise RuntimeError(f"stack {label}: echo agent spawn answered {status} {agent}")
        agents.append(agent["agent_id"])
    # Warm-up: connections, script loads, the first statements.
    one_at_a_time(gw, 10)
    for agent_id in agents:
        echo_round_trips(gw, agent_id, 5)
    return agents


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("poolfile")
    run = sub.add_parser("run")
    run.add_argument("--a-port", type=int, required=True)
    run.add_argument("--b-port", type=int, required=True)
    run.add_argument("--key", required=True)
    run.add_argument("--a-label", default="A")
    run.add_argument("--b-label", default="B")
    run.add_argument("--rounds", type=int, default=5)
    run.add_argument("--pairs", type=int, default=100)
    run.add_argument("--tasks", type=int, default=200)
    run.add_argument("--burst", type=int, default=150)
    run.add_argument("--task-seconds", type=int, default=5, help="wrk's task load per round (0: none)")
    run.add_argument("--json")
    args = parser.parse_args()
    if args.command == "poolfile":
        print(pool_file(), end="")
        return
    stacks = {"A": Gateway(args.a_port, args.key), "B": Gateway(args.b_port, args.key)}
    labels = {"A": args.a_label, "B": args.b_label}
    agents = {name: prepare(gw, name) for name, gw in stacks.items()}
    rounds = {"A": [], "B": []}
    for number in range(args.rounds):
        order = ["A", "B"] if number % 2 == 0 else ["B", "A"]
        for name in order:
            started = time.monotonic()
            figures = measure(stacks[name], agents[name], args)
            rounds[name].append(figures)
            print(f"round {number} {labels[name]}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items())
                  + f" ({time.monotonic() - started:.1f} s)", file=sys.stderr, flush=True)
    keys = list(rounds["A"][0].keys())
    print(f"| measurement (median of {args.rounds} interleaved rounds) | {labels['A']} | {labels['B']} | ratio |")
    print("|---|---|---|---|")
    result = {}
    for key in keys:
        a = statistics.median(r[key] for r in rounds["A"])
        b = statistics.median(r[key] for r in rounds["B"])
        better = (b / a) if "/s" in key else (a / b)
        unit = "/s" if "/s" in key else " ms"
        print(f"| {key} | {a:.2f}{unit} | {b:.2f}{unit} | {better:.2f}× |")
        result[key] = {"A": a, "B": b, "ratio": better, "rounds": {"A": [r[key] for r in rounds["A"]], "B": [r[key] for r in rounds["B"]]}}
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"labels": labels, "figures": result}, handle, indent=2)


if __name__ == "__main__":
    main()
