"""The AgentPool benchmark, driven by deploy/bench/run (which starts and stops the stack).

  bench.py poolfile [--quick] --repo DIR       prints the bench pool file
  bench.py measure [--quick] --repo DIR --stack DIR --bin-dir DIR --pool-file FILE --port PORT
                   --redis-port P --pgbouncer-port P [--peer DIR] [--peer-home DIR]
                   [--json FILE] [--out FILE]

With --peer (../shared/peer), the spawn and task measurements run again, with the same client,
against the peer, which the bench starts (in --peer-home) after AgentPool's measurements and
stops at once after its own.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback

import cpu
import floor as floor_module
import measure
import peer as peer_module
import pools
import report
import tasks
import throughput
from client import Gateway, percentile, wait_until
from pools import FAILOVER_HEARTBEAT, FAILOVER_STALE, TASK_HEARTBEAT, TASK_STALE, counts, scale_pool_names

def secrets(stack):
    values = {}
    with open(os.path.join(stack, "secrets.env")) as file:
        for line in file:
            if "=" in line and not line.startswith("#"):
                name, value = line.rstrip("\n").split("=", 1)
                values[name] = value
    return values


def cpu_model():
    with open("/proc/cpuinfo") as file:
        for line in file:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_pressure():
    """The 1-minute load average and the share of the last minute in which some task waited
    for a CPU (/proc/pressure/cpu), to show how busy the shared machine was."""
    load = os.getloadavg()[0]
    waiting = None
    try:
        with open("/proc/pressure/cpu") as file:
            waiting = float(file.readline().split("avg60=")[1].split()[0])
    except (OSError, IndexError, ValueError):
        pass
    return {"loadavg1": load, "cpu_some_avg60": waiting}


def log(message):
    print(message, file=sys.stderr, flush=True)


def pid_of(stack, name):
    with open(os.path.join(stack, "run", f"{name}.pid")) as file:
        return int(file.readline())


def spawn_steps(gw, c, results, log, components, warm_levels, cold, warm_workers=4):
    """The spawn measurements that run on both systems, as (name, action); `cold(results)`
    measures the cold bursts (AgentPool's pool shrinks back between levels, the peer's never
    does, so it has one pool per level)."""
    def sequential():
        results["sequential"] = measure.sequential(gw, "seq_pool", c["sequential"], c["warmup"], c["pairs"])

    def warm():
        results["warm"], results["warm_terminate"], results["cpu_warm"] = measure.bursts(
            gw, "warm_pool", c["warm_burst"], warm_levels, warm_workers, log, components)

    def autoscale():
        results["autoscale"] = measure.autoscale(gw, scale_pool_names(c), launches_per_pool=2)

    return [("sequential spawn and terminate", sequential), ("warm bursts", warm),
            ("cold bursts", lambda: cold(results)), ("autoscale", autoscale)]


def task_steps(gw, c, results, log, components, redis_cli, has_exec, external=None):
    """The task measurements that run on both systems; `external` (AgentPool only) starts the
    externally launched workers of the pool given and returns nothing."""
    def workers_of(pool):
        return lambda: [w["pid"] for w in measure.workers(gw, pool)]

    def echo():
        results["task_echo"] = tasks.sequential_echo(gw, "task_echo", c["task_sequential"], c["task_warmup"])

    def tput():
        results["task_tput"] = tasks.throughput(gw, "task_tput", c["task_agents"], c["task_levels"],
                                                c["task_throughput"], components, workers_of("task_tput"), log,
                                                c["wrk_seconds"])

    def exec_rt():
        results["task_exec"] = tasks.exec_round_trip(gw, "task_exec", c["exec_sequential"], c["task_warmup"],
                                                     components, workers_of("task_exec"))

    def recovery_child():
        measure.wait_for_workers(gw, "task_fo_child", 2)
        results["task_recovery_child"] = tasks.recovery(gw, "task_fo_child", TASK_STALE, TASK_HEARTBEAT)

    def recovery_ext():
        external("task_fo_ext")
        results["task_recovery_ext"] = tasks.recovery(gw, "task_fo_ext", TASK_STALE, TASK_HEARTBEAT)

    def queued():
        results["task_queue"] = tasks.queued_memory(gw, "task_queue", c["queued"], redis_cli)

    steps = [("tasks: sequential echo round trip", echo), ("tasks: throughput", tput)]
    if has_exec:
        steps.append(("tasks: exec round trip", exec_rt))
    steps.append(("tasks: in flight on a killed child of the manager", recovery_child))
    if external:
        steps.append(("tasks: in flight on a killed external worker", recovery_ext))
    steps.append(("tasks: Redis memory per queued task", queued))
    return steps


def run(args):
    c = counts(args.quick)
    stack = args.stack
    keys = secrets(stack)
    key = os.environ.get("API_KEYS", keys.get("API_KEYS", "")).split(",")[0]
    gw = Gateway(args.port, key)
    has_exec = pools.exec_agent(args.repo) is not None
    results = {"meta": {"quick": args.quick, "pools": pools.count(args.quick, args.repo),
                        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                        "host": platform.node(), "nproc": os.cpu_count(), "cpu": cpu_model(),
                        "memory_gib": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30},
               "errors": {}, "notes": []}
    if not has_exec:
        results["notes"].append(f"no {args.repo}/examples/agents/python/agent.py: the exec round trip is not measured")
    started = []

    def step(name, action, errors=None):
        log(f"== {name}")
        try:
            action()
        except Exception as error:  # noqa: BLE001 - one failed measurement must not hide the rest
            traceback.print_exc()
            (results["errors"] if errors is None else errors)[name] = f"{type(error).__name__}: {error}"

    def rss_start():
        results["rss"] = {"gateway_start": measure.rss_bytes(pid_of(stack, "gateway"))}

    def floor(when):
        def action():
            results[f"floor_{when}"] = floor_module.measure(
                args.redis_port, keys["REDIS_PASSWORD"], args.pgbouncer_port, keys["POSTGRES_PASSWORD"],
                args.quick, log)
            results["floor"] = floor_module.combine(results.get("floor_start"), results.get("floor_end"))
        return action

    def machine_load(when):
        def action():
            results["meta"][f"load_{when}"] = machine_pressure()
        return action

    def http_floor():
        lat = [gw.request("GET", "/healthz")[2] for _ in range(1000 if not args.quick else 300)]
        results["http_floor"] = {"p50": percentile(lat, 0.5), "p99": percentile(lat, 0.99)}
        results["healthz_rate"] = throughput.read_throughput(gw, args.port, "", "/healthz", c["wrk_seconds"])

    def components(worker_pids):
        return cpu.components(stack, worker_pids)

    def cold(into):
        into["cold"], into["cold_terminate"], into["cpu_cold"] = measure.bursts(
            gw, "cold_pool", c["cold_slots"] * c["cold_workers"], c["levels"], 1, log, components)

    def memory():
        results["memory"] = measure.memory(gw, "mem_pool", c["memory"], log)

    def failover_child():
        results["failover_child"] = measure.failover_child(gw, "fo_child")

    def failover_external():
        got = measure.failover_external(gw, "fo_ext", args.bin_dir, stack, args.pool_file, started)
        results["failover_external"] = {**got, "heartbeat": FAILOVER_HEARTBEAT, "stale_after": FAILOVER_STALE}

    def external_workers(pool):
        for _ in range(2):
            started.append(measure.start_external_worker(args.bin_dir, stack, pool, args.pool_file))
        measure.wait_for_workers(gw, pool, 2)

    def reads():
        results["pools_rate"] = throughput.read_throughput(
            gw, args.port, key, "/api/v1/agents/pools", c["wrk_seconds"])
        results["pool_rate"] = throughput.read_throughput(
            gw, args.port, key, "/api/v1/agents/pools/seq_pool", c["wrk_seconds"])

    def rss_end():
        for name in ("gateway", "manager"):
            detail = measure.memory_detail(pid_of(stack, name))
            results["rss"][f"{name}_end"] = detail["rss"]
            results["rss"][f"{name}_end_pss"] = detail["pss"]
            results["rss"][f"{name}_end_private"] = detail["private"]

    redis_cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(args.redis_port), "--no-auth-warning",
                 "-a", keys["REDIS_PASSWORD"]]
    spawns = spawn_steps(gw, c, results, log, components, c["levels"], cold)
    work = task_steps(gw, c, results, log, components, redis_cli, has_exec, external_workers)
    try:
        for name, action in ([("machine load at start", machine_load("start")),
                              ("gateway rss at start", rss_start), ("floor: Redis and PostgreSQL", floor("start")),
                              ("floor: HTTP", http_floor)] + spawns
                             + [("memory", memory), ("failover: own child", failover_child),
                                ("failover: external worker", failover_external)] + work
                             + [("gateway read throughput", reads), ("rss after the load", rss_end)]):
            step(name, action)
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
    log("== the peer")
    run_peer(args, c, results, has_exec, step)
    for name, action in (("floor again: Redis and PostgreSQL", floor("end")),
                         ("machine load at the end", machine_load("end"))):
        step(name, action)
    return results


def run_peer(args, c, results, has_exec, step):
    """The same spawn and task measurements against the peer, one group at a time, each on a
    peer started afresh with that group's pools only; its failures are reported beside its
    figures and never fail the run."""
    if not args.peer:
        results["peer_note"] = "not measured (--no-peer)"
        log(f"peer: {results['peer_note']}")
        return
    if not os.path.isdir(args.peer):
        results["peer_note"] = f"not measured: {args.peer} does not exist"
        log(f"peer: {results['peer_note']}")
        return
    peer = peer_module.Peer(args.peer, args.peer_home, log)
    figures = results["peer"] = {}
    errors = results["peer_errors"] = {}
    pool_path = os.path.join(os.path.dirname(os.path.abspath(args.pool_file)), "peer-pools.yaml")
    key = "ap_peer_" + os.urandom(12).hex()
    gw = Gateway(peer_module.GATEWAY_PORT, key)

    def cold(into):
        levels, stops, spent = [], [], {"spawn": {}, "terminate": {}}
        for level in pools.peer_cold_levels(args.quick):
            got, terminated, per_op = measure.bursts(gw, f"cold_pool_{level}", c["cold_slots"] * c["cold_workers"],
                                                     (level,), 1, log, peer.components)
            levels += got
            stops += terminated
            for kind in spent:  # each level's CPU per operation, averaged over the levels
                for name, value in per_op[kind].items():
                    spent[kind][name] = spent[kind].get(name, 0.0) + value / len(pools.peer_cold_levels(args.quick))
        into["cold"], into["cold_terminate"], into["cpu_cold"] = levels, stops, spent

    spawns = dict(spawn_steps(gw, c, figures, log, peer.components, pools.PEER_WARM_LEVELS, cold,
                              pools.peer_workers(args.quick, "warm_pool")))
    phases = [(("seq_pool", "warm_pool"), [(name, spawns[name]) for name in ("sequential spawn and terminate", "warm bursts")]),
              (("cold_pool_",), [("cold bursts", spawns["cold bursts"])]),
              (("scale_pool_",), [("autoscale", spawns["autoscale"])]),
              (("task_",), task_steps(gw, c, figures, log, peer.components, peer.redis_command(), has_exec))]
    try:
        for prefixes, steps in phases:
            with open(pool_path, "w") as file:
                file.write(pools.peer_pool_file(args.quick, args.repo, prefixes))
            peer.stop(quiet=True)
            try:
                peer.start(pool_path, key)
                settle(gw, peer.redis_command(), log)
            except (peer_module.Unavailable, TimeoutError) as why:
                results["peer_note"] = f"not measured: {why}"
                log(f"peer: {results['peer_note']}")
                return
            for name, action in steps:
                step(f"peer: {name}", action, errors)
    finally:
        peer.stop()


def settle(gw, redis_cli, log, timeout=240):
    """Waits until the freshly started peer is steady: every pool has its min_workers workers
    and a leader whose lease (pool:<name>:leader) stays the same over 4 s. On a busy machine
    the peer can let a lease run out while its first workers start (it renews only after
    they registered), take it again and start over; measuring before that ends measures 503s."""
    def leases(names):
        out = subprocess.run(redis_cli + ["MGET"] + [f"pool:{name}:leader" for name in names],
                             capture_output=True, text=True, timeout=30).stdout
        return out.split("\n")[:len(names)]

    def state():
        status, listed, _ = gw.request("GET", "/api/v1/agents/pools")
        if status != 200 or not all(p["process_count"] >= p.get("min_workers", 0) for p in listed):
            return None
        held = leases([p["pool_name"] for p in listed])
        return held if all(held) else None

    started = time.monotonic()
    while True:
        first = wait_until(state, max(1, timeout - (time.monotonic() - started)), 0.5,
                           "every pool's leader and min_workers")
        time.sleep(4)  # more than one renewal period of the peer's leases (10 s / 3)
        if state() == first:
            break
        log("peer: a pool changed leader while starting; waiting again")
    log(f"peer: steady after {time.monotonic() - started:.1f} s")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    pool_parser = sub.add_parser("poolfile")
    pool_parser.add_argument("--quick", action="store_true")
    pool_parser.add_argument("--repo", required=True)
    run_parser = sub.add_parser("measure")
    run_parser.add_argument("--quick", action="store_true")
    for name in ("--repo", "--stack", "--bin-dir", "--pool-file"):
        run_parser.add_argument(name, required=True)
    for name in ("--port", "--redis-port", "--pgbouncer-port"):
        run_parser.add_argument(name, required=True, type=int)
    run_parser.add_argument("--peer", default="", help="the peer's folder (../shared/peer); empty: no peer")
    run_parser.add_argument("--peer-home", default="/tmp/agentpool-peer-bench",
                            help="where the peer runs from (its venv is kept there between runs)")
    run_parser.add_argument("--json")
    run_parser.add_argument("--out")
    args = parser.parse_args()
    if args.command == "poolfile":
        sys.stdout.write(pools.pool_file(args.quick, args.repo))
        return 0
    results = run(args)
    if args.json:
        with open(args.json, "w") as file:
            json.dump(results, file, indent=2)
    rows = report.build(results)
    log("")
    log(report.plain(rows))
    log("")
    text = report.markdown(rows, results)
    print(text)
    if args.out:
        with open(args.out, "w") as file:
            file.write(text + "\n")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
