#!/usr/bin/env python3
"""An AgentPool exec agent in plain Python (standard library only).

It speaks the exec protocol: one JSON object per line on stdin (from the worker) and stdout
(to the worker), flushed after every line. Logs go to stderr, which the worker logs with the
agent's id.

State: it counts the tasks it finished and keeps the inputs of the last five as its state
checkpoint, sent after every task and handed back in `start` whenever the process starts
again (after a crash, or on another worker).

Tasks are driven by their input, so that tests and benchmarks can reach every path:
  {"op": "echo", ...}                               output = the input
  {"op": "sleep", "seconds": 2}                     output after 2 s; a cancel stops it
  {"op": "steps", "steps": 3, "delay": 0.1}         progress 1..3, then the output
  {"op": "fail", "message": "...", "retryable": b}  an error
  {"op": "crash", "code": 3}                        the process exits at once
  {"op": "answer_and_exit"}                         answers, then the process exits
  {"op": "close_stdout"}                            closes stdout and keeps running
  {"op": "state"}                                   output = the current state
  {"op": "env"}                                     output = the process's environment
  {"op": "ignore_cancel", "seconds": 30}            sleeps and never answers a cancel
  {"op": "garbage"}                                 writes a non-JSON line, then answers
  {"op": "long_line", "bytes": 2097152}             writes a line over 1 MiB, then answers
  {"op": "flood", "bytes": 104857600}               writes that many bytes without newline
  {"op": "stderr", "text": "..."}                   writes the text to stderr, then answers
Any other input with "steps" sends that many progress lines first; anything else is echoed.

Environment knobs (for tests): AGENT_NO_READY=1 never says ready; AGENT_IGNORE_TERM=1
ignores SIGTERM; AGENT_CRASH_AT_START=<file> exits at start while that file exists;
AGENT_PID_FILE=<file> appends the process id to that file at start.
"""

import json
import os
import signal
import sys
import threading
import time

_write_lock = threading.Lock()


def send(message):
    line = json.dumps(message, separators=(",", ":"))
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def log(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class Agent:
    def __init__(self):
        self.state = {"tasks_done": 0, "recent_inputs": []}
        self.cancelled = set()
        self.lock = threading.Lock()

    def start(self, message):
        state = message.get("state")
        if isinstance(state, dict):
            self.state = state
            self.state.setdefault("tasks_done", 0)
            self.state.setdefault("recent_inputs", [])
        agent = message.get("agent") or {}
        log("started agent %s with %d task(s) done before" % (agent.get("agent_id"), self.state["tasks_done"]))

    def checkpoint(self, task_input):
        with self.lock:
            self.state["tasks_done"] += 1
            recent = self.state["recent_inputs"]
            recent.append(task_input)
            del recent[:-5]
            send({"type": "state", "state": self.state})

    def wait(self, task_id, seconds, honour_cancel=True):
        """Sleeps in small steps; False when a cancel arrived."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if honour_cancel and task_id in self.cancelled:
                return False
            time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        return not (honour_cancel and task_id in self.cancelled)

    def run(self, task_id, task_input):
        try:
            self.work(task_id, task_input)
        except Exception as error:  # the agent's own bug: report it, keep running
            send({"type": "error", "task_id": task_id, "message": "agent error: %s" % error, "retryable": False})
        finally:
            self.cancelled.discard(task_id)

    def work(self, task_id, task_input):
        op = task_input.get("op") if isinstance(task_input, dict) else None
        if op == "crash":
            log("crashing as asked")
            os._exit(int(task_input.get("code", 3)))
        if op == "close_stdout":
            # Breaks the protocol: the worker can no longer hear it, though it still runs.
            with _write_lock:
                os.close(1)
            time.sleep(60)
            return
        if op == "answer_and_exit":
            send({"type": "result", "task_id": task_id, "output": task_input})
            os._exit(0)
        if op == "fail":
            send({"type": "error", "task_id": task_id, "message": str(task_input.get("message", "failed")),
                  "retryable": bool(task_input.get("retryable", False))})
            return
        if op == "sleep" or op == "ignore_cancel":
            if not self.wait(task_id, float(task_input.get("seconds", 1)), honour_cancel=(op == "sleep")):
                send({"type": "error", "task_id": task_id, "message": "cancelled", "retryable": False})
                return
        if op == "garbage":
            with _write_lock:
                sys.stdout.write("this is not json {\n")
                sys.stdout.write("[1, 2, 3]\n")
                sys.stdout.flush()
        if op == "long_line":
            with _write_lock:
                sys.stdout.write('{"type":"progress","task_id":"%s","data":"%s"}\n' % (task_id, "x" * int(task_input.get("bytes", 2 << 20))))
                sys.stdout.flush()
        if op == "flood":
            chunk = "y" * 65536
            with _write_lock:
                for _ in range(int(task_input.get("bytes", 100 << 20)) // len(chunk)):
                    sys.stdout.write(chunk)
                sys.stdout.write("\n")
                sys.stdout.flush()
        if op == "stderr":
            log(str(task_input.get("text", "")))
        if op == "env":
            self.checkpoint(task_input)
            send({"type": "result", "task_id": task_id, "output": dict(os.environ)})
            return
        if op == "state":
            send({"type": "result", "task_id": task_id, "output": self.state})
            return
        steps = task_input.get("steps") if isinstance(task_input, dict) else None
        if isinstance(steps, int) and steps > 0:
            for step in range(1, steps + 1):
                if not self.wait(task_id, float(task_input.get("delay", 0.05))):
                    send({"type": "error", "task_id": task_id, "message": "cancelled", "retryable": False})
                    return
                send({"type": "progress", "task_id": task_id, "data": {"step": step, "of": steps}})
        self.checkpoint(task_input)
        send({"type": "result", "task_id": task_id, "output": task_input})


def main():
    if os.environ.get("AGENT_IGNORE_TERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    pid_file = os.environ.get("AGENT_PID_FILE")
    if pid_file:
        with open(pid_file, "a") as handle:
            handle.write("%d\n" % os.getpid())
    crash_file = os.environ.get("AGENT_CRASH_AT_START")
    if crash_file and os.path.exists(crash_file):
        log("crash file %s exists: exiting at start" % crash_file)
        sys.exit(1)
    agent = Agent()
    for raw in sys.stdin:
        try:
            message = json.loads(raw)
        except ValueError:
            log("dropped a line that is not JSON")
            continue
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "start":
            agent.start(message)
            if os.environ.get("AGENT_NO_READY") != "1":
                send({"type": "ready"})
        elif kind == "task":
            # Each task on its own thread, so that cancels (and other tasks) are read meanwhile.
            threading.Thread(target=agent.run, args=(message.get("task_id"), message.get("input")), daemon=True).start()
        elif kind == "cancel":
            agent.cancelled.add(message.get("task_id"))
        elif kind == "stop":
            log("stopping")
            break
    # Stdin closed or stop: end. With AGENT_IGNORE_TERM the process lingers, as a stuck agent would.
    if os.environ.get("AGENT_IGNORE_TERM") == "1":
        while True:
            time.sleep(1)


if __name__ == "__main__":
    main()
