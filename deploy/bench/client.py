"""A small HTTP client for the AgentPool gateway: one keep-alive connection per thread,
timings with perf_counter, and a runner that drives N calls from C concurrent clients.
Standard library only."""

import concurrent.futures
import http.client
import json
import math
import threading
import time


class Gateway:
    """Calls the gateway's API with the bench's API key; each thread keeps its own
    keep-alive connection, so concurrent callers never share a socket."""

    def __init__(self, port, key, timeout=60):
        self.port = port
        self.headers = {"Authorization": f"Bearer {key}"}
        self.timeout = timeout
        self.local = threading.local()

    def _connection(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.local.conn = conn
        return conn

    def request(self, method, path, body=None):
        """Returns (status, decoded JSON or None, seconds taken). Reconnects once when the
        server closed the kept-alive connection."""
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (0, 1):
            conn = self._connection()
            start = time.perf_counter()
            try:
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise
                continue
            elapsed = time.perf_counter() - start
            try:
                payload = json.loads(raw) if raw else None
            except ValueError:
                payload = None
            return response.status, payload, elapsed
        raise RuntimeError("unreachable")

    def spawn(self, pool, name=None):
        body = {"name": name} if name else None
        return self.request("POST", f"/api/v1/agents/pools/{pool}/agents", body)

    def terminate(self, agent_id):
        return self.request("DELETE", f"/api/v1/agents/{agent_id}")

    def pool(self, name):
        status, payload, _ = self.request("GET", f"/api/v1/agents/pools/{name}")
        if status != 200:
            raise RuntimeError(f"GET pool {name}: status {status}: {payload}")
        return payload

    def running_agents(self, pool):
        status, payload, _ = self.request("GET", f"/api/v1/agents?pool={pool}&status=running")
        if status != 200:
            raise RuntimeError(f"GET agents of {pool}: status {status}: {payload}")
        return payload

    def close(self):
        conn = getattr(self.local, "conn", None)
        if conn is not None:
            conn.close()
            self.local.conn = None


class Outcome:
    """What a batch of calls produced: the successful payloads, latencies, errors, wall time."""

    def __init__(self):
        self.payloads = []
        self.latencies = []
        self.errors = {}
        self.seconds = 0.0

    @property
    def ok(self):
        return len(self.payloads)

    def rate(self):
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    def error_text(self):
        return ", ".join(f"{count}x {what}" for what, count in sorted(self.errors.items()))


def run_concurrently(calls, clients, expect):
    """Runs each zero-argument call (returning (status, payload, seconds)) from `clients`
    threads; counts a status other than `expect` as an error. The wall time runs from the
    first call to the last answer."""
    outcome = Outcome()
    lock = threading.Lock()

    def one(call):
        try:
            status, payload, elapsed = call()
        except Exception as error:  # noqa: BLE001 - a failed call is counted, not fatal
            status, payload, elapsed = f"exception {type(error).__name__}", None, 0.0
        with lock:
            if status == expect:
                outcome.payloads.append(payload)
                outcome.latencies.append(elapsed)
            else:
                code = payload.get("error", {}).get("code") if isinstance(payload, dict) else None
                key = f"{status}{' ' + code if code else ''}"
                outcome.errors[key] = outcome.errors.get(key, 0) + 1

    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        start = time.perf_counter()
        futures = [pool.submit(one, call) for call in calls]
        for future in futures:
            future.result()
        outcome.seconds = time.perf_counter() - start
    return outcome


def percentile(values, fraction):
    """The nearest-rank percentile of `values` (fraction in 0..1), or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def wait_until(predicate, timeout, interval=0.2, what="a condition"):
    """Polls `predicate` until it returns a truthy value, which it returns; raises after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
