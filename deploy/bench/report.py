"""Turns the bench's results into rows (figure, ratio to the floor, target, met?) and prints
them as a plain table for the terminal and as a markdown table."""

MIB = 2**20


def _ms(seconds):
    return None if seconds is None else seconds * 1000


class Rows:
    def __init__(self, floor):
        self.rows = []
        floor = floor or {}
        self.latency_floor = (floor.get("redis_rtt_ms", 0) + floor.get("pg_insert_ms", 0)) or None
        self.tps_floor = floor.get("pg_insert_tps")

    def add(self, name, value, unit, floor="", target="", met=None):
        if isinstance(value, float):
            text = f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
        else:
            text = "—" if value is None else str(value)
        verdict = {True: "MET", False: "MISSED", None: ""}[met]
        self.rows.append((name, f"{text} {unit}".strip(), floor, target, verdict))

    def latency(self, name, ms, target_ms=None, target_text=None):
        floor = f"{ms / self.latency_floor:,.1f}× floor" if ms is not None and self.latency_floor else ""
        met = None if target_ms is None or ms is None else ms <= target_ms
        target = target_text or (f"≤ {target_ms:g} ms" if target_ms is not None else "")
        self.add(name, ms, "ms", floor, target, met)

    def rate(self, name, value, unit, target=None, floor_rate=None, floor_name="PG insert tps"):
        base = floor_rate if floor_rate is not None else self.tps_floor
        floor = f"{value / base:,.2f}× {floor_name}" if value is not None and base else ""
        met = None if target is None or value is None else value >= target
        self.add(name, value, unit, floor, f"≥ {target:,} {unit}" if target else "", met)

    def memory(self, name, bytes_, target_mib=None, per_agent=False):
        if per_agent:
            value, unit, limit = (None if bytes_ is None else bytes_ / 1024), "KiB", target_mib
            target = f"≤ {limit} KiB" if limit else ""
        else:
            value, unit, limit = (None if bytes_ is None else bytes_ / MIB), "MiB", target_mib
            target = f"≤ {limit} MiB" if limit else ""
        met = None if limit is None or value is None else value <= limit
        self.add(name, value, unit, "", target, met)


def build(results):
    r = results
    rows = Rows(r.get("floor"))
    seq = r.get("sequential")
    if seq:
        spawn, stop = seq["spawn"], seq["terminate"]
        n = spawn["count"]
        rows.latency(f"spawn latency p50 (sequential, {n} spawns)", _ms(spawn["p50"]), 2)
        rows.latency("spawn latency p90", _ms(spawn["p90"]))
        rows.latency("spawn latency p99", _ms(spawn["p99"]), 10)
        rows.latency(f"terminate latency p50 (sequential, {stop['count']})", _ms(stop["p50"]))
        rows.latency("terminate latency p99", _ms(stop["p99"]))
        reads = seq.get("reads", {})
        if "agent" in reads:
            rows.latency("GET /api/v1/agents/{id} p50, sequential (one PG select)", _ms(reads["agent"]["p50"]))
        if "pool" in reads:
            rows.latency("GET /api/v1/agents/pools/{one} p50, sequential (2 rounds of Redis calls)",
                         _ms(reads["pool"]["p50"]))
    for key, label, target in (("warm", "warm", 2000), ("cold", "cold 1→20 workers", 500)):
        for level in r.get(key, []):
            name = f"burst spawn, {label}, {level['clients']} clients ({level['count']} spawns)"
            if level["errors"]:
                name += f" [errors: {level['errors']}]"
            rows.rate(name, level["rate"], "spawns/s", target)
    stops = r.get("warm_terminate", []) + r.get("cold_terminate", [])
    if stops:
        done = sum(s["ok"] for s in stops)
        rate = done / sum(s["seconds"] for s in stops)
        worst = min(s["rate"] for s in stops)
        failed = "; ".join(s["errors"] for s in stops if s["errors"])
        rows.rate(f"terminate throughput, 32 clients ({done} agents, slowest batch {worst:,.0f}/s)"
                  + (f" [errors: {failed}]" if failed else ""), rate, "/s", 2000)
    scale = r.get("autoscale")
    if scale:
        rows.latency(f"autoscale: spawn that launches a worker, p50 ({scale['count']} launches)",
                     _ms(scale["p50"]), 60)
        rows.latency("autoscale p90", _ms(scale["p90"]))
    child = r.get("failover_child")
    if child:
        rows.latency(f"failover, manager's own child, kill -9 ({child['agents']} agents)",
                     _ms(child["seconds"]), 1000)
    ext = r.get("failover_external")
    if ext:
        limit = ext["stale_after"] + ext["heartbeat"]
        rows.latency(f"failover, external worker, kill -9 (hb {ext['heartbeat']:g} s, stale_after "
                     f"{ext['stale_after']:g} s)", _ms(ext["seconds"]), limit * 1000,
                     f"≤ {limit * 1000:g} ms (stale_after + heartbeat)")
    mem = r.get("memory")
    if mem:
        rows.memory(f"RSS: idle worker (PSS {mem['idle_pss'] / MIB:.1f} MiB, private "
                    f"{mem['idle_private'] / MIB:.1f} MiB)", mem["idle"], 15)
        rows.memory("RSS: worker with 10 agents", mem["ten"])
        rows.memory(f"RSS: worker with {mem['count']} agents", mem["many"])
        rows.memory(f"RSS per agent (slope 10 → {mem['count']} agents)", mem["per_agent"], 64, per_agent=True)
    rss = r.get("rss", {})
    if rss:
        rows.memory("RSS: gateway at start", rss.get("gateway_start"))
        for name, label, limit in (("gateway", "gateway after the load", 30),
                                   ("manager", "manager after the load (all pools)", None)):
            if f"{name}_end" in rss:
                rows.memory(f"RSS: {label} (PSS {rss[name + '_end_pss'] / MIB:.1f} MiB, private "
                            f"{rss[name + '_end_private'] / MIB:.1f} MiB)", rss[f"{name}_end"], limit)
    healthz = r.get("healthz_rate", {}).get("rate")
    for key, label, target in (("pools_rate", "GET /api/v1/agents/pools", 10000),
                               ("pool_rate", "GET /api/v1/agents/pools/{one}", None)):
        got = r.get(key)
        if got:
            name = f"{label} ({got['tool']}, 32 conns, p50 {got['p50_ms']:.2f} ms"
            name += f", {r['meta']['pools']} pools)" if key == "pools_rate" else ")"
            if got["non_2xx"]:
                name += f" [{got['non_2xx']} non-2xx]"
            rows.rate(name, got["rate"], "req/s", target, healthz, "/healthz rate")
    runs = [run for run in (r.get("floor_start"), r.get("floor_end")) if run]
    if runs:
        def both(key, digits):
            return " / ".join(f"{run[key]:,.{digits}f}" for run in runs)
        when = "start / end" if len(runs) == 2 else "one run"
        rows.add(f"floor ({when}): Redis round trip p50 (PING_INLINE, 1 client)", both("redis_rtt_ms", 3), "ms")
        rows.add(f"floor ({when}): Redis PING_INLINE, 50 clients", both("redis_ping_rps", 0), "req/s")
        rows.add(f"floor ({when}): Redis SET, 50 clients", both("redis_set_rps", 0), "req/s")
        rows.add(f"floor ({when}): PG insert via PgBouncer, 1 client, avg latency", both("pg_insert_ms", 3), "ms")
        rows.add(f"floor ({when}): PG insert via PgBouncer, 4 clients", both("pg_insert_tps", 0), "tps")
    http = r.get("http_floor")
    if http:
        rows.add("floor: GET /healthz p50, sequential (client + HTTP)", _ms(http["p50"]), "ms")
    if healthz:
        rows.add("floor: GET /healthz (wrk, 32 conns)", healthz, "req/s")
    for name, error in r.get("errors", {}).items():
        rows.add(f"{name}: FAILED", error[:120], "", "", "", False)
    return rows


HEADERS = ("measurement", "value", "vs floor", "target", "met")


def plain(rows):
    widths = [max(len(str(row[i])) for row in rows.rows + [HEADERS]) for i in range(len(HEADERS))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows.rows]
    return "\n".join(lines)


def markdown(rows, results):
    meta = results.get("meta", {})
    out = [f"AgentPool benchmark ({'quick' if meta.get('quick') else 'full'} run), {meta.get('date', '')}: "
           f"{meta.get('nproc')} cores ({meta.get('cpu', '?')}), {meta.get('memory_gib', 0):.0f} GiB memory.", ""]
    out += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows.rows]
    met = sum(1 for row in rows.rows if row[4] == "MET")
    missed = [row[0] for row in rows.rows if row[4] == "MISSED"]
    loads = [meta.get(f"load_{when}") for when in ("start", "end")]
    if all(loads):
        out.append("")
        out.append("Machine load (1-min load average; % of the last minute some task waited for a CPU): "
                   + "; ".join(f"{when} {load['loadavg1']:.2f}, "
                               + ("n/a" if load["cpu_some_avg60"] is None else f"{load['cpu_some_avg60']:.0f}%")
                               for when, load in zip(("start", "end"), loads)) + ".")
    out.append("")
    out.append(f"Targets met: {met}; missed: {len(missed)}" + (" — " + "; ".join(missed) if missed else "") + ".")
    cpu = cpu_table(results)
    if cpu:
        out += ["", cpu]
    out.append("")
    out.append("vs floor: latencies ÷ (Redis round trip p50 + PostgreSQL single-row insert latency "
               "through PgBouncer, mean of the start and end runs); spawn/terminate rates ÷ PostgreSQL insert tps (4 clients); "
               "read rates ÷ the gateway's own GET /healthz rate.")
    return "\n".join(out)


def cpu_table(results):
    """CPU milliseconds per operation by component during the bursts (from /proc/<pid>/stat,
    10 ms ticks, summed over all concurrency levels)."""
    columns = [(key, kind, label) for key, label in (("cpu_warm", "warm"), ("cpu_cold", "cold"))
               for kind in ("spawn", "terminate") if results.get(key, {}).get(kind)]
    if not columns:
        return ""
    names = list(results[columns[0][0]][columns[0][1]].keys())
    head = "| CPU ms per operation | " + " | ".join(f"{label} {kind}" for _, kind, label in columns) + " |"
    lines = [head, "|" + "---|" * (len(columns) + 1)]
    for name in names + ["total"]:
        cells = []
        for key, kind, _ in columns:
            values = results[key][kind]
            value = sum(values.values()) if name == "total" else values.get(name, 0.0)
            cells.append(f"{value:.2f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
