"""Turns the bench's results into rows (figure, ratio to the floor, target, met?) and prints
them as a plain table for the terminal and as a markdown table."""

MIB = 2**20


def _ms(seconds):
    return None if seconds is None else seconds * 1000


def _number(value):
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return "—" if value is None else str(value)


class Rows:
    """The table's rows: measurement, AgentPool's figure, the peer's figure measured in the same
    run with the same client, the ratio (how many times better AgentPool is: peer ÷ AgentPool
    for times and sizes, AgentPool ÷ peer for rates), the ratio to the floor, target, met."""

    def __init__(self, floor, peer_measured):
        self.rows = []
        floor = floor or {}
        self.latency_floor = (floor.get("redis_rtt_ms", 0) + floor.get("pg_insert_ms", 0)) or None
        self.tps_floor = floor.get("pg_insert_tps")
        self.peer_measured = peer_measured

    def add(self, name, value, unit, floor="", target="", met=None, peer=None, ratio=None):
        verdict = {True: "MET", False: "MISSED", None: ""}[met]
        peer_text = f"{_number(peer)} {unit}".strip() if peer is not None else ("—" if self.peer_measured else "")
        ratio_text = f"{ratio:,.1f}×" if ratio is not None else ""
        self.rows.append((name, f"{_number(value)} {unit}".strip(), peer_text, ratio_text, floor, target, verdict))

    def latency(self, name, ms, target_ms=None, target_text=None, peer_ms=None, ratio_target=None):
        floor = f"{ms / self.latency_floor:,.1f}× floor" if ms is not None and self.latency_floor else ""
        ratio = peer_ms / ms if peer_ms is not None and ms else None
        met = None if target_ms is None or ms is None else ms <= target_ms
        target = target_text or (f"≤ {target_ms:g} ms" if target_ms is not None else "")
        if ratio_target is not None:
            target += f"{', ' if target else ''}≥ {ratio_target:g}× the peer"
            if ratio is not None and met is not None:
                met = met and ratio >= ratio_target
        self.add(name, ms, "ms", floor, target, met, peer_ms, ratio)

    def rate(self, name, value, unit, target=None, floor_rate=None, floor_name="PG insert tps", peer=None,
             ratio_target=None):
        base = floor_rate if floor_rate is not None else self.tps_floor
        floor = f"{value / base:,.2f}× {floor_name}" if value is not None and base else ""
        ratio = value / peer if value is not None and peer else None
        met = None if target is None or value is None else value >= target
        target_text = f"≥ {target:,} {unit}" if target else ""
        if ratio_target is not None:
            target_text += f"{', ' if target_text else ''}≥ {ratio_target:g}× the peer"
            if ratio is not None and met is not None:
                met = met and ratio >= ratio_target
        self.add(name, value, unit, floor, target_text, met, peer, ratio)

    def memory(self, name, bytes_, target_mib=None, per_agent=False, peer_bytes=None):
        scale, unit = (1024, "KiB") if per_agent else (MIB, "MiB")
        value = None if bytes_ is None else bytes_ / scale
        peer = None if peer_bytes is None else peer_bytes / scale
        target = f"≤ {target_mib} {unit}" if target_mib else ""
        met = None if not target_mib or value is None else value <= target_mib
        ratio = peer / value if peer is not None and value else None
        self.add(name, value, unit, "", target, met, peer, ratio)


def _get(tree, *path):
    """tree[path...] or None when any step is missing."""
    for step in path:
        if isinstance(tree, dict):
            tree = tree.get(step)
        elif isinstance(tree, list) and isinstance(step, int) and -len(tree) <= step < len(tree):
            tree = tree[step]
        else:
            return None
        if tree is None:
            return None
    return tree


def _level(levels, clients, mode=None, client=None):
    for level in levels or []:
        if (level.get("clients") == clients and (mode is None or level.get("mode") == mode)
                and (client is None or level.get("client", "python") == client)):
            return level
    return None


def _terminate_rate(stops):
    return sum(s["ok"] for s in stops) / sum(s["seconds"] for s in stops) if stops else None


def build(results):
    r = results
    p = r.get("peer") or {}
    rows = Rows(r.get("floor"), bool(p))
    seq = r.get("sequential")
    if seq:
        spawn, stop = seq["spawn"], seq["terminate"]
        n = spawn["count"]
        rows.latency(f"spawn latency p50 (sequential, {n} spawns)", _ms(spawn["p50"]), 2,
                     peer_ms=_ms(_get(p, "sequential", "spawn", "p50")))
        rows.latency("spawn latency p90", _ms(spawn["p90"]), peer_ms=_ms(_get(p, "sequential", "spawn", "p90")))
        rows.latency("spawn latency p99", _ms(spawn["p99"]), 10, peer_ms=_ms(_get(p, "sequential", "spawn", "p99")))
        rows.latency(f"terminate latency p50 (sequential, {stop['count']})", _ms(stop["p50"]),
                     peer_ms=_ms(_get(p, "sequential", "terminate", "p50")))
        rows.latency("terminate latency p99", _ms(stop["p99"]), peer_ms=_ms(_get(p, "sequential", "terminate", "p99")))
        if seq.get("pair_spawn", {}).get("count"):
            rows.latency(f"one agent at a time: spawn p50 ({seq['pair_spawn']['count']} spawn + terminate pairs)",
                         _ms(seq["pair_spawn"]["p50"]), peer_ms=_ms(_get(p, "sequential", "pair_spawn", "p50")))
            rows.latency("one agent at a time: terminate p50", _ms(seq["pair_terminate"]["p50"]),
                         peer_ms=_ms(_get(p, "sequential", "pair_terminate", "p50")))
        reads = seq.get("reads", {})
        if "agent" in reads:
            rows.latency("GET /api/v1/agents/{id} p50, sequential (one PG select)", _ms(reads["agent"]["p50"]),
                         peer_ms=_ms(_get(p, "sequential", "reads", "agent", "p50")))
        if "pool" in reads:
            rows.latency("GET /api/v1/agents/pools/{one} p50, sequential (2 rounds of Redis calls)",
                         _ms(reads["pool"]["p50"]), peer_ms=_ms(_get(p, "sequential", "reads", "pool", "p50")))
    for key, label, target in (("warm", "warm", 2000), ("cold", "cold 1→20 workers", 500)):
        for level in r.get(key, []):
            name = f"burst spawn, {label}, {level['clients']} clients ({level['count']} spawns)"
            if level["errors"]:
                name += f" [errors: {level['errors']}]"
            theirs = _level(p.get(key), level["clients"])
            if theirs and theirs["errors"]:
                name += f" [peer errors: {theirs['errors']}]"
            rows.rate(name, level["rate"], "spawns/s", target, peer=theirs and theirs["rate"])
    stops = r.get("warm_terminate", []) + r.get("cold_terminate", [])
    if stops:
        done = sum(s["ok"] for s in stops)
        worst = min(s["rate"] for s in stops)
        failed = "; ".join(s["errors"] for s in stops if s["errors"])
        rows.rate(f"terminate throughput, 32 clients ({done} agents, slowest batch {worst:,.0f}/s)"
                  + (f" [errors: {failed}]" if failed else ""), _terminate_rate(stops), "/s", 2000,
                  peer=_terminate_rate(p.get("warm_terminate", []) + p.get("cold_terminate", [])))
    scale = r.get("autoscale")
    if scale:
        rows.latency(f"autoscale: spawn that launches a worker, p50 ({scale['count']} launches)",
                     _ms(scale["p50"]), 60, peer_ms=_ms(_get(p, "autoscale", "p50")))
        rows.latency("autoscale p90", _ms(scale["p90"]), peer_ms=_ms(_get(p, "autoscale", "p90")))
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
    task_rows(rows, r, p)
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
    for name, error in (r.get("peer_errors") or {}).items():
        rows.add(f"{name}: FAILED on the peer (not counted)", error[:120], "")
    return rows


def task_rows(rows, r, p):
    """The task figures of contract section 5, each beside the peer's."""
    echo = r.get("task_echo")
    if echo:
        rows.latency(f"task round trip ?wait, builtin echo, sequential, p50 ({echo['count']} tasks)",
                     _ms(echo["p50"]), 2, peer_ms=_ms(_get(p, "task_echo", "p50")), ratio_target=4)
        rows.latency("task round trip ?wait, builtin echo, p99", _ms(echo["p99"]), 10,
                     peer_ms=_ms(_get(p, "task_echo", "p99")))
    levels = r.get("task_tput", [])
    with_wrk = any(level.get("client") == "wrk" for level in levels)
    for level in levels:
        client = level.get("client", "python")
        theirs = _level(p.get("task_tput"), level["clients"], level["mode"], client)
        who = "wrk, 32 connections" if client == "wrk" else f"{level['clients']} Python threads"
        name = (f"task throughput, {level['mode']} submits with ?wait, {who}, "
                f"20 echo agents ({level['count']} tasks, not ok: {level['not_ok']}"
                + (f", peer not ok: {theirs['not_ok']}" if theirs else "") + ")")
        if level["errors"]:
            name += f" [{level['errors']}]"
        big = level["clients"] >= 32 and (client == "wrk" or not with_wrk)
        rows.rate(name, level["rate"], "tasks/s", 3000 if big else None, peer=theirs and theirs["rate"],
                  ratio_target=10 if big else None)
    ex = r.get("task_exec")
    if ex:
        rows.latency(f"exec round trip ?wait, Python example agent, p50 ({ex['count']} tasks)", _ms(ex["p50"]), 3,
                     peer_ms=_ms(_get(p, "task_exec", "p50")))
        rows.latency("exec round trip p99", _ms(ex["p99"]), peer_ms=_ms(_get(p, "task_exec", "p99")))
    for key, label, own in (("task_recovery_child", "manager's own child", True),
                            ("task_recovery_ext", "external worker", False)):
        got = r.get(key)
        if not got:
            continue
        theirs = p.get(key) or {}
        limit = 1.0 if own else got["stale_after"] + 1
        rows.latency(f"task in flight on a kill -9ed worker ({label}, hb {got['heartbeat']:g} s, stale_after "
                     f"{got['stale_after']:g} s): kill → final, minus backoff {got['backoff']:g} s and the task's "
                     f"{got['task_seconds']:g} s", _ms(got["net"]), limit * 1000,
                     f"≤ {limit * 1000:g} ms" + ("" if own else " (stale_after + 1 s)"), peer_ms=_ms(theirs.get("net")))
        rows.latency(f"  the same: kill → attempt {2} running", _ms(got["restarted"]),
                     peer_ms=_ms(theirs.get("restarted")))
        rows.latency(f"  the same: kill → final outcome ({got['attempts']} attempts)", _ms(got["final"]),
                     peer_ms=_ms(theirs.get("final")))
    queue = r.get("task_queue")
    if queue:
        theirs = p.get("task_queue") or {}
        rows.memory(f"Redis memory per queued task beyond its input ({queue['count']} queued, input "
                    f"{queue['input_bytes']:.0f} B)", queue["beyond_input"], 1, per_agent=True,
                    peer_bytes=theirs.get("beyond_input"))


HEADERS = ("measurement", "AgentPool", "peer", "ratio", "vs floor", "target", "met")
MET = HEADERS.index("met")


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
    if results.get("peer_note"):
        out += [f"The peer (../shared/peer): {results['peer_note']}.", ""]
    out += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows.rows]
    met = sum(1 for row in rows.rows if row[MET] == "MET")
    missed = [row[0] for row in rows.rows if row[MET] == "MISSED"]
    loads = [meta.get(f"load_{when}") for when in ("start", "end")]
    if all(loads):
        out.append("")
        out.append("Machine load (1-min load average; % of the last minute some task waited for a CPU): "
                   + "; ".join(f"{when} {load['loadavg1']:.2f}, "
                               + ("n/a" if load["cpu_some_avg60"] is None else f"{load['cpu_some_avg60']:.0f}%")
                               for when, load in zip(("start", "end"), loads)) + ".")
    out.append("")
    out.append(f"Targets met: {met}; missed: {len(missed)}" + (" — " + "; ".join(missed) if missed else "") + ".")
    for note in results.get("notes", []):
        out += ["", f"Note: {note}."]
    for table in (cpu_table(results, SPAWN_CPU, "CPU ms per operation"), cpu_table(results, TASK_CPU, "CPU ms per task")):
        if table:
            out += ["", table]
    out.append("")
    out.append("peer: the same client against ../shared/peer (Python: FastAPI gateway and manager in one process, "
               "multiprocessing workers), started after AgentPool's measurements and stopped after its own; "
               "ratio: how many times better AgentPool is (peer ÷ AgentPool for times and sizes, AgentPool ÷ peer "
               "for rates). vs floor: latencies ÷ (Redis round trip p50 + PostgreSQL single-row insert latency "
               "through PgBouncer, mean of the start and end runs); spawn/terminate rates ÷ PostgreSQL insert tps (4 clients); "
               "read rates ÷ the gateway's own GET /healthz rate.")
    return "\n".join(out)


def _task_cpu(mode, clients, client):
    def pick(tree):
        level = _level(tree.get("task_tput"), clients, mode, client) if isinstance(tree, dict) else None
        return level and level.get("cpu_ms")
    return pick


# (column label, how to find its CPU ms by component in a results tree)
SPAWN_CPU = [(f"{label} {kind}", (lambda key, kind: lambda tree: _get(tree, key, kind))(key, kind))
             for key, label in (("cpu_warm", "warm"), ("cpu_cold", "cold")) for kind in ("spawn", "terminate")]
TASK_CPU = [(f"{mode} submits, {clients} threads", _task_cpu(mode, clients, "python"))
            for clients in (8, 32) for mode in ("agent", "pool")]
TASK_CPU += [(f"{mode} submits, wrk", _task_cpu(mode, 32, "wrk")) for mode in ("agent", "pool")]
TASK_CPU.append(("exec round trip", lambda tree: _get(tree, "task_exec", "cpu_ms")))


def cpu_table(results, columns, title):
    """CPU milliseconds per operation by component (from /proc/<pid>/stat, 10 ms ticks), for
    AgentPool and, beside each column, the peer in the same run."""
    peer = results.get("peer") or {}
    found = []
    for label, pick in columns:
        ours = pick(results)
        if ours:
            found.append((label, ours, pick(peer)))
    if not found:
        return ""
    names = []
    for _, ours, theirs in found:
        for name in list(ours) + list(theirs or {}):
            if name not in names:
                names.append(name)
    with_peer = any(theirs for _, _, theirs in found)
    head = f"| {title} | " + " | ".join(label + (" (AgentPool / peer)" if with_peer else "") for label, _, _ in found) + " |"
    lines = [head, "|" + "---|" * (len(found) + 1)]
    for name in names + ["total"]:
        cells = []
        for _, ours, theirs in found:
            def value(values):
                if not values:
                    return "—"
                return f"{sum(values.values()) if name == 'total' else values.get(name, 0.0):.2f}"
            cells.append(value(ours) + (f" / {value(theirs)}" if with_peer else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
