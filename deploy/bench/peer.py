"""The peer: ../shared/peer, a Python implementation of the same design (FastAPI gateway and
manager in one process, multiprocessing workers, Redis, PostgreSQL through PgBouncer). The
bench starts it beside AgentPool's stack, runs the same client against it and stops it; when it
cannot (no such folder, its ports taken, no network for its venv), the run goes on without it
and the report says why."""

import os
import shutil
import socket
import subprocess

import cpu

GATEWAY_PORT, REDIS_PORT, POSTGRES_PORT, PGBOUNCER_PORT = 28000, 26379, 25432, 26432
START_TIMEOUT = 900  # a first start makes its venv (pip install), about a minute here


class Unavailable(Exception):
    """Why the peer is not measured in this run."""


def _listening(port):
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Peer:
    def __init__(self, source, home, log):
        self.source = source
        self.home = home
        self.log = log
        self.started = False

    @property
    def data(self):
        return os.path.join(self.home, ".data")

    def _env(self, **extra):
        return dict(os.environ, PEER_HOME=self.home, **extra)

    def start(self, pool_file, api_key):
        """Starts the peer from a fresh data folder (its venv is kept between runs) with the
        bench's pools; raises Unavailable with the reason when it cannot."""
        run = os.path.join(self.source, "run.sh")
        if not os.path.isfile(run):
            raise Unavailable(f"no peer at {self.source} (run.sh missing)")
        self.stop(quiet=True)  # a previous run of the bench that died before its cleanup
        busy = [port for port in (GATEWAY_PORT, REDIS_PORT, POSTGRES_PORT, PGBOUNCER_PORT) if _listening(port)]
        if busy:
            raise Unavailable(f"the peer's ports {', '.join(map(str, busy))} are in use (another peer running?)")
        shutil.rmtree(self.data, ignore_errors=True)
        os.makedirs(self.home, exist_ok=True)
        os.chmod(self.home, 0o755)  # the postgres user must reach its data folder
        log_path = os.path.join(self.home, "bench-start.log")
        self.log(f"peer: starting it from {self.source} in {self.home} (log {log_path})")
        self.started = True
        env = self._env(POOL_CONFIG=pool_file, API_KEYS=api_key)
        for name in ("HEARTBEAT_INTERVAL", "STALE_AFTER"):  # they would override every pool's timings
            env.pop(name, None)
        with open(log_path, "w") as output:
            try:
                done = subprocess.run(["bash", run], env=env, stdout=output, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, timeout=START_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise Unavailable(f"run.sh did not finish within {START_TIMEOUT} s (see {log_path})") from None
        if done.returncode != 0:
            with open(log_path) as output:
                tail = output.read().strip().splitlines()[-3:]
            raise Unavailable(f"run.sh failed with status {done.returncode}: {' / '.join(tail)[:300]}")

    def stop(self, quiet=False):
        """Stops what run.sh started, by the pids it recorded (its stop.sh); never fails."""
        stop = os.path.join(self.home, "stop.sh")
        if not os.path.isfile(stop) or not os.path.isdir(os.path.join(self.data, "pids")):
            return
        try:
            done = subprocess.run(["bash", stop], env=self._env(), capture_output=True, text=True, timeout=120)
            if not quiet:
                self.log("peer: " + "; ".join(done.stdout.split("\n")).strip("; "))
        except (OSError, subprocess.TimeoutExpired) as error:
            self.log(f"peer: stop.sh failed: {error}")

    def _pid(self, name):
        return cpu._read_pid(os.path.join(self.data, "pids", f"{name}.pid"))

    def components(self, worker_pids):
        """Pids per component, named as AgentPool's: the peer's gateway process is also its
        manager (its row stays empty)."""
        postmaster = self._pid("postgres")
        groups = {
            "gateway": [self._pid("gateway")],
            "manager": [],
            "workers": list(worker_pids),
            "redis": [self._pid("redis")],
            "postgres": ([postmaster] + cpu._children(postmaster)) if postmaster else [],
            "pgbouncer": [self._pid("pgbouncer")],
        }
        return {name: [p for p in pids if p] for name, pids in groups.items()}

    def redis_command(self):
        return ["redis-cli", "-h", "127.0.0.1", "-p", str(REDIS_PORT)]
