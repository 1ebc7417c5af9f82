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
        rows.rate(f"terminate throughput, 32 clients ({done} agents, slowest batch {worst:,.0f}/s)",
                  rate, "/s", 2000)
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
        rows.memory("RSS: idle worker", mem["idle"], 15)
        rows.memory("RSS: worker with 10 agents", mem["ten"])
        rows.memory(f"RSS: worker with {mem['count']} agents", mem["many"])
        rows.memory(f"RSS per agent (slope 10 → {mem['count']} agents)", mem["per_agent"], 64, per_agent=True)
    rss = r.get("rss", {})
    if rss:
        rows.memory("RSS: gateway at start", rss.get("gateway_start"))
        rows.memory("RSS: gateway after the load", rss.get("gateway_end"), 30)
        rows.memory("RSS: manager after the load (all pools)", rss.get("manager_end"))
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
    floor = r.get("floor")
    if floor:
        rows.add("floor: Redis round trip p50 (PING_INLINE, 1 client)", floor["redis_rtt_ms"], "ms")
        rows.add("floor: Redis throughput PING_INLINE / SET (50 clients)",
                 f"{floor['redis_ping_rps']:,.0f} / {floor['redis_set_rps']:,.0f}", "req/s")
        rows.add("floor: PG insert via PgBouncer, 1 client (avg latency)", floor["pg_insert_ms"], "ms")
        rows.add("floor: PG insert via PgBouncer, 4 clients", floor["pg_insert_tps"], "tps")
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
    out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows.rows]
    met = sum(1 for row in rows.rows if row[4] == "MET")
    missed = [row[0] for row in rows.rows if row[4] == "MISSED"]
    out.append("")
    out.append(f"Targets met: {met}; missed: {len(missed)}" + (" — " + "; ".join(missed) if missed else "") + ".")
    out.append("")
    out.append("vs floor: latencies ÷ (Redis round trip p50 + PostgreSQL single-row insert latency "
               "through PgBouncer); spawn/terminate rates ÷ PostgreSQL insert tps (4 clients); "
               "read rates ÷ the gateway's own GET /healthz rate.")
    return "\n".join(out)
