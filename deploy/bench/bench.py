"""The AgentPool benchmark, driven by deploy/bench/run (which starts and stops the stack).

  bench.py poolfile [--quick]                 prints the bench pool file
  bench.py measure [--quick] --stack DIR --bin-dir DIR --pool-file FILE --port PORT
                   --redis-port P --pgbouncer-port P [--json FILE] [--out FILE]
"""

import argparse
import json
import os
import platform
import sys
import time
import traceback

import floor as floor_module
import measure
import report
import throughput
from client import Gateway, percentile

# Each measurement has its own pool so that none disturbs another.
POOLS = {
    "seq_pool": "sequential spawn and terminate latency",
    "warm_pool": "warm bursts (its workers exist from the start)",
    "cold_pool": "cold bursts: grows from 1 to 20 workers",
    "scale_pool_N": "autoscale: one slot per worker, so each of the first two spawns after the idle worker launches one",
    "mem_pool": "memory: one worker holding up to 1,000 agents",
    "fo_child": "failover of a manager's own child",
    "fo_ext": "failover of an externally started worker",
}
FAILOVER_HEARTBEAT, FAILOVER_STALE = 0.5, 1.5


def counts(quick):
    return {
        "sequential": 100 if quick else 500, "warmup": 10 if quick else 20,
        "warm_burst": 200 if quick else 1000, "levels": (8, 32, 64),
        "cold_slots": 10, "cold_workers": 20,
        "autoscale": 5 if quick else 20, "memory": 200 if quick else 1000,
        "wrk_seconds": 3 if quick else 10,
    }


def pool_file(quick):
    c = counts(quick)
    warm_slots = c["warm_burst"] // 4
    return f"""# The AgentPool benchmark's pools (deploy/bench/bench.py), one per measurement.
defaults:
  heartbeat_interval: 30
  stale_after: 300
  idle_timeout: 600
pools:
  - name: seq_pool          # {POOLS['seq_pool']}
    role: seq
    max_agents_per_process: 1000
    min_workers: 1
    max_workers: 1
  - name: warm_pool         # {POOLS['warm_pool']}
    role: warm
    max_agents_per_process: {warm_slots}
    min_workers: 4
    max_workers: 4
  - name: cold_pool         # {POOLS['cold_pool']}
    role: cold
    max_agents_per_process: {c['cold_slots']}
    min_workers: 1
    max_workers: {c['cold_workers']}
    heartbeat_interval: 0.5
    stale_after: 5
    idle_timeout: 1
{scale_pools(c)}  - name: mem_pool          # {POOLS['mem_pool']}
    role: mem
    max_agents_per_process: 1000
    min_workers: 1
    max_workers: 1
  - name: fo_child          # {POOLS['fo_child']}
    role: fo_child
    max_agents_per_process: 10
    min_workers: 1
    max_workers: 3
    heartbeat_interval: {FAILOVER_HEARTBEAT}
    stale_after: {FAILOVER_STALE}
  - name: fo_ext            # {POOLS['fo_ext']}
    role: fo_ext
    launcher: external
    max_agents_per_process: 10
    min_workers: 0
    max_workers: 2
    heartbeat_interval: {FAILOVER_HEARTBEAT}
    stale_after: {FAILOVER_STALE}
"""


def scale_pool_names(c):
    """Two measured launches per pool: a pool's first two scale-ups are exact, later ones grow
    geometrically and launch ahead, so a spawn would no longer wait for its own worker."""
    return [f"scale_pool_{index}" for index in range((c["autoscale"] + 1) // 2)]


def scale_pools(c):
    return "".join(f"""  - name: {name}      # {POOLS['scale_pool_N']}
    role: scale
    max_agents_per_process: 1
    min_workers: 1
    max_workers: 3
    heartbeat_interval: 0.5
    stale_after: 5
    idle_timeout: 1
""" for name in scale_pool_names(c))


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


def run(args):
    c = counts(args.quick)
    stack = args.stack
    keys = secrets(stack)
    key = os.environ.get("API_KEYS", keys.get("API_KEYS", "")).split(",")[0]
    gw = Gateway(args.port, key)
    results = {"meta": {"quick": args.quick, "pools": len(POOLS) - 1 + len(scale_pool_names(counts(args.quick))), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                        "host": platform.node(), "nproc": os.cpu_count(), "cpu": cpu_model(),
                        "memory_gib": os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30},
               "errors": {}}
    started = []

    def step(name, action):
        log(f"== {name}")
        try:
            action()
        except Exception as error:  # noqa: BLE001 - one failed measurement must not hide the rest
            traceback.print_exc()
            results["errors"][name] = f"{type(error).__name__}: {error}"

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

    def sequential():
        results["sequential"] = measure.sequential(gw, "seq_pool", c["sequential"], c["warmup"])

    def warm():
        results["warm"], results["warm_terminate"], results["cpu_warm"] = measure.bursts(
            gw, "warm_pool", c["warm_burst"], c["levels"], 4, log, stack)

    def cold():
        results["cold"], results["cold_terminate"], results["cpu_cold"] = measure.bursts(
            gw, "cold_pool", c["cold_slots"] * c["cold_workers"], c["levels"], 1, log, stack)

    def autoscale():
        results["autoscale"] = measure.autoscale(gw, scale_pool_names(c), launches_per_pool=2)

    def memory():
        results["memory"] = measure.memory(gw, "mem_pool", c["memory"], log)

    def failover_child():
        results["failover_child"] = measure.failover_child(gw, "fo_child")

    def failover_external():
        got = measure.failover_external(gw, "fo_ext", args.bin_dir, stack, args.pool_file, started)
        results["failover_external"] = {**got, "heartbeat": FAILOVER_HEARTBEAT, "stale_after": FAILOVER_STALE}

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

    try:
        for name, action in (("machine load at start", machine_load("start")),
                             ("gateway rss at start", rss_start), ("floor: Redis and PostgreSQL", floor("start")),
                             ("floor: HTTP", http_floor), ("sequential spawn and terminate", sequential),
                             ("warm bursts", warm), ("cold bursts", cold), ("autoscale", autoscale),
                             ("memory", memory), ("failover: own child", failover_child),
                             ("failover: external worker", failover_external),
                             ("gateway read throughput", reads), ("rss after the load", rss_end),
                             ("floor again: Redis and PostgreSQL", floor("end")),
                             ("machine load at the end", machine_load("end"))):
            step(name, action)
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
    return results


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    pools = sub.add_parser("poolfile")
    pools.add_argument("--quick", action="store_true")
    run_parser = sub.add_parser("measure")
    run_parser.add_argument("--quick", action="store_true")
    for name in ("--stack", "--bin-dir", "--pool-file"):
        run_parser.add_argument(name, required=True)
    for name in ("--port", "--redis-port", "--pgbouncer-port"):
        run_parser.add_argument(name, required=True, type=int)
    run_parser.add_argument("--json")
    run_parser.add_argument("--out")
    args = parser.parse_args()
    if args.command == "poolfile":
        sys.stdout.write(pool_file(args.quick))
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
