"""The floor: what the stack's own Redis and PostgreSQL (through PgBouncer) can do on this
machine at the same time, measured with redis-benchmark and pgbench. Every AgentPool figure
is printed beside its ratio to these."""

import csv
import io
import os
import re
import subprocess
import tempfile

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")

INSERT_SQL = (
    "INSERT INTO bench_insert (id, name, metadata) "
    "VALUES (gen_random_uuid(), 'bench-agent', '{\"team\": \"core\", \"n\": 1}');\n"
)


def redis_benchmark(port, password, requests, clients):
    """Runs redis-benchmark for PING_INLINE and SET; returns {test: {rps, p50_ms, ...}}."""
    command = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-a", password,
               "-n", str(requests), "-c", str(clients), "-t", "ping_inline,set", "--csv"]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=300).stdout
    results = {}
    for row in csv.DictReader(io.StringIO(output)):
        results[row["test"]] = {
            "rps": float(row["rps"]),
            "avg_ms": float(row["avg_latency_ms"]),
            "p50_ms": float(row["p50_latency_ms"]),
            "p99_ms": float(row["p99_latency_ms"]),
        }
    return results


def psql(port, password, sql):
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
    subprocess.run([f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "agentpool", "-d", "agentpool",
                    "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, env=env, capture_output=True)


def pgbench(port, password, clients, seconds):
    """Single-row inserts of (uuid, text, jsonb) through PgBouncer; returns tps and the
    average latency in ms."""
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(INSERT_SQL)
        script.flush()
        command = [f"{PG_BIN}/pgbench", "-h", "127.0.0.1", "-p", str(port), "-U", "agentpool", "-n",
                   "-f", script.name, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
                   "agentpool"]
        output = subprocess.run(command, check=True, capture_output=True, text=True, env=env,
                                timeout=seconds + 60).stdout
    latency = re.search(r"latency average = ([0-9.]+) ms", output)
    tps = re.search(r"tps = ([0-9.]+)", output)
    if not latency or not tps:
        raise RuntimeError(f"cannot read pgbench's output:\n{output}")
    return {"tps": float(tps.group(1)), "latency_ms": float(latency.group(1))}


def measure(redis_port, redis_password, pgbouncer_port, pg_password, quick, log):
    """The whole floor: Redis round trip (one client) and throughput (50 clients), PostgreSQL
    insert latency (one client) and throughput (4 clients)."""
    requests = 20000 if quick else 100000
    seconds = 3 if quick else 10
    log("floor: redis-benchmark, 1 client (round trip)")
    single = redis_benchmark(redis_port, redis_password, requests // 5, 1)
    log(f"floor: redis-benchmark -n {requests}, 50 clients (throughput)")
    many = redis_benchmark(redis_port, redis_password, requests, 50)
    psql(pgbouncer_port, pg_password,
         "CREATE TABLE IF NOT EXISTS bench_insert (id uuid PRIMARY KEY, name text NOT NULL, "
         "metadata jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
    log(f"floor: pgbench insert through PgBouncer, 1 client, {seconds} s (latency)")
    pg_one = pgbench(pgbouncer_port, pg_password, 1, seconds)
    log(f"floor: pgbench insert through PgBouncer, 4 clients, {seconds} s (throughput)")
    pg_four = pgbench(pgbouncer_port, pg_password, 4, seconds)
    psql(pgbouncer_port, pg_password, "DROP TABLE bench_insert")
    return {
        "redis_rtt_ms": single["PING_INLINE"]["p50_ms"],
        "redis_set_ms": single["SET"]["p50_ms"],
        "redis_ping_rps": many["PING_INLINE"]["rps"],
        "redis_set_rps": many["SET"]["rps"],
        "pg_insert_ms": pg_one["latency_ms"],
        "pg_insert_tps_1": pg_one["tps"],
        "pg_insert_tps": pg_four["tps"],
        "pg_insert_ms_4": pg_four["latency_ms"],
    }


def combine(start, end):
    """The floor used for ratios: the mean of the runs at the start and at the end (either may
    be missing), so that a machine that got busier or quieter meanwhile shows in both."""
    runs = [run for run in (start, end) if run]
    if not runs:
        return None
    return {key: sum(run[key] for run in runs) / len(runs) for key in runs[0]}
