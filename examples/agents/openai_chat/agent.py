#!/usr/bin/env python3
"""An AgentPool exec agent that chats through an OpenAI-compatible API (standard library only).

One task = one user message; the output is {"reply": "<assistant text>", "model": ...}.
The conversation is the agent's state: it is checkpointed after every reply and handed back
in `start`, so a conversation survives the agent being placed on another worker.

Settings (environment; give them with `env` / `env_from` in pool.yaml):
  OPENAI_BASE_URL   e.g. https://api.openai.com/v1 or http://127.0.0.1:8080/v1 (default: the former)
  OPENAI_API_KEY    sent as a bearer token when set
  MODEL             the model name (default: gpt-4o-mini)
  SYSTEM_PROMPT     optional first message of every conversation
  MAX_HISTORY       messages kept in the state (default 40; older ones are dropped)
  REQUEST_TIMEOUT   seconds per API call (default 120)

Task input: a string (the user's message) or {"message": "..."}; {"reset": true} clears the
conversation. Errors: 429, 5xx and network failures are retryable; other 4xx are not.
"""

import json
import os
import sys
import threading
import urllib.error
import urllib.request

_write_lock = threading.Lock()


def send(message):
    with _write_lock:
        sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
        sys.stdout.flush()


def log(text):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class ChatError(Exception):
    def __init__(self, message, retryable):
        super().__init__(message)
        self.retryable = retryable


class ChatAgent:
    def __init__(self):
        self.base_url = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
        self.api_key = os.environ.get("OPENAI_API_KEY")
        self.model = os.environ.get("MODEL", "gpt-4o-mini")
        self.system_prompt = os.environ.get("SYSTEM_PROMPT")
        self.max_history = int(os.environ.get("MAX_HISTORY", "40"))
        self.timeout = float(os.environ.get("REQUEST_TIMEOUT", "120"))
        self.messages = []
        # One conversation: tasks run one after the other even with task_concurrency > 1.
        self.lock = threading.Lock()

    def restore(self, state):
        if isinstance(state, dict) and isinstance(state.get("messages"), list):
            self.messages = [m for m in state["messages"] if isinstance(m, dict)]
        log("conversation restored with %d message(s)" % len(self.messages))

    def checkpoint(self):
        send({"type": "state", "state": {"messages": self.messages}})

    def complete(self, messages):
        body = {"model": self.model, "messages": messages}
        request = urllib.request.Request(
            self.base_url + "/chat/completions", data=json.dumps(body).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"})
        if self.api_key:
            request.add_header("Authorization", "Bearer " + self.api_key)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:500]
            try:
                detail = json.loads(detail).get("error", {}).get("message", detail)
            except (ValueError, AttributeError):
                pass
            retryable = error.code == 429 or error.code >= 500
            raise ChatError("chat API answered %d: %s" % (error.code, detail), retryable)
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            raise ChatError("chat API unreachable: %s" % error, True)
        except ValueError:
            raise ChatError("chat API answered with a body that is not JSON", True)
        try:
            return answer["choices"][0]["message"]["content"], answer.get("model", self.model)
        except (KeyError, IndexError, TypeError):
            raise ChatError("chat API answer has no choices[0].message.content", False)

    def run(self, task_id, task_input):
        with self.lock:
            if isinstance(task_input, dict) and task_input.get("reset"):
                self.messages = []
                self.checkpoint()
                send({"type": "result", "task_id": task_id, "output": {"reset": True}})
                return
            text = task_input if isinstance(task_input, str) else (task_input or {}).get("message") if isinstance(task_input, dict) else None
            if not isinstance(text, str) or not text:
                send({"type": "error", "task_id": task_id, "retryable": False,
                      "message": "input must be a string or {\"message\": \"...\"}"})
                return
            conversation = self.messages + [{"role": "user", "content": text}]
            prompt = ([{"role": "system", "content": self.system_prompt}] if self.system_prompt else []) + conversation
            try:
                reply, model = self.complete(prompt)
            except ChatError as error:
                send({"type": "error", "task_id": task_id, "message": str(error), "retryable": error.retryable})
                return
            self.messages = (conversation + [{"role": "assistant", "content": reply}])[-self.max_history:]
            # The state goes first: it is persisted before the outcome that follows it.
            self.checkpoint()
            send({"type": "result", "task_id": task_id, "output": {"reply": reply, "model": model}})


def main():
    agent = ChatAgent()
    for raw in sys.stdin:
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "start":
            agent.restore(message.get("state"))
            send({"type": "ready"})
        elif kind == "task":
            threading.Thread(target=agent.run, args=(message.get("task_id"), message.get("input")), daemon=True).start()
        elif kind == "cancel":
            # An API call cannot be taken back; the reply, if it comes within the grace period, wins.
            pass
        elif kind == "stop":
            break


if __name__ == "__main__":
    main()
