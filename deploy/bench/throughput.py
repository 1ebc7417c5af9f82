"""Read throughput of the gateway with wrk (32 connections, the API key in a header), with a
threaded Python fallback when wrk is missing (its figure is then bounded by the client)."""

import re
import shutil
import subprocess
import threading
import time

from client import percentile


def _milliseconds(text):
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, key, seconds, connections=32, threads=2):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if key:
        command += ["-H", f"Authorization: Bearer {key}"]
    output = subprocess.run(command + [url], check=True, capture_output=True, text=True,
                            timeout=seconds + 30).stdout
    rate = re.search(r"Requests/sec:\s+([0-9.]+)", output)
    if not rate:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    return {
        "tool": "wrk",
        "rate": float(rate.group(1)),
        "p50_ms": _milliseconds(latency["50"]) if "50" in latency else None,
        "p99_ms": _milliseconds(latency["99"]) if "99" in latency else None,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else "",
    }


def python_load(gw, path, seconds, connections=32):
    """The fallback: `connections` threads with keep-alive connections for `seconds`."""
    stop = time.monotonic() + seconds
    latencies, bad = [], [0]
    lock = threading.Lock()

    def loop():
        mine, failed = [], 0
        while time.monotonic() < stop:
            status, _, elapsed = gw.request("GET", path)
            mine.append(elapsed)
            failed += status != 200
        with lock:
            latencies.extend(mine)
            bad[0] += failed

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return {"tool": "python", "rate": len(latencies) / elapsed,
            "p50_ms": percentile(latencies, 0.5) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
            "non_2xx": bad[0], "socket_errors": ""}


def read_throughput(gw, port, key, path, seconds):
    url = f"http://127.0.0.1:{port}{path}"
    if shutil.which("wrk"):
        return wrk(url, key, seconds)
    return python_load(gw, path, seconds)
