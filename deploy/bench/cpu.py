"""CPU time per component of the stack (from /proc/<pid>/stat), to tell where a burst's CPU
goes: gateway, manager, workers, Redis, PostgreSQL, PgBouncer and the bench client itself."""

import os

TICKS = os.sysconf("SC_CLK_TCK")


def _read_pid(path):
    try:
        with open(path) as file:
            line = file.readline().strip()
        return int(line) if line.isdigit() else None
    except OSError:
        return None


def _stat(pid):
    """(ppid, cpu seconds) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            text = file.read()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    # After the command: state(0) ppid(1) ... utime(11) stime(12)
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _children(parent):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat and stat[0] == parent:
                found.append(int(entry))
    return found


def components(stack, worker_pids):
    """Pids per component name."""
    postmaster = _read_pid(os.path.join(stack, "postgres", "pgdata", "postmaster.pid"))
    groups = {
        "gateway": [_read_pid(os.path.join(stack, "run", "gateway.pid"))],
        "manager": [_read_pid(os.path.join(stack, "run", "manager.pid"))],
        "workers": list(worker_pids),
        "redis": [_read_pid(os.path.join(stack, "redis", "redis.pid"))],
        "postgres": ([postmaster] + _children(postmaster)) if postmaster else [],
        "pgbouncer": [_read_pid(os.path.join(stack, "pgbouncer", "pgbouncer.pid"))],
    }
    return {name: [p for p in pids if p] for name, pids in groups.items()}


def snapshot(groups):
    """CPU seconds used so far per process, by component, the bench client included."""
    totals = {name: {pid: (_stat(pid) or (0, 0.0))[1] for pid in pids} for name, pids in groups.items()}
    times = os.times()
    totals["bench client"] = {os.getpid(): times.user + times.system}
    return totals


def per_operation(before, after, operations):
    """CPU milliseconds per operation per component between two snapshots. A process that
    started in between (a worker launched by the burst) counts from zero."""
    if operations <= 0:
        return {}
    result = {}
    for name, pids in after.items():
        old = before.get(name, {})
        result[name] = sum(seconds - old.get(pid, 0.0) for pid, seconds in pids.items()) * 1000 / operations
    return result
