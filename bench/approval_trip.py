"""The machine part of an approval round trip (issue 5 item 10): under 1 s.

A round: the real hook process (``python -m interlock.hooks claude-code``, the exact payload
Claude Code sends for ``rm -rf <project>/victim-N``) meets a real ``interlock serve`` through
``[approvals] server`` in the project's interlock.toml; an approver's dashboard stream
(``GET /api/v1/events``, server-sent events) shows the ``created`` event; the approver reads
the card and votes; the hook proceeds. The approver here is the bench, acting the moment the
event arrives, so every millisecond counted is the machine's. Two ways an agent meets it:

- **retry** (``wait = 0``, the default): the hook denies at once, naming the request; after
  the approval the agent runs the same command again and that hook call passes.
- **held** (``wait = 10``): the hook files and long-polls; the approval releases it.

Hooks run with ``INTERLOCK_DAEMON=0``: every call decides in its own process (the first call
of a session, and the slowest path), so no resident process is left behind. The baseline is
the same hook answering an allowed ``ls`` in the same project.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from approval_http import Call, fetch, post_json
from approval_server import Server, SignedIn
from payloads import claude_code
from stats import Summary

REQUEST_ID = re.compile(r"\breq_[0-9a-f]{16}\b")
SEEN_TIMEOUT = 10.0
HELD_WAIT = 10


class EventWatch:
    """An approver's dashboard stream: when each request's ``created`` event arrived."""

    def __init__(self, port: int, who: SignedIn) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        cookie = dict(who.headers())["Cookie"]
        self.sock.sendall(
            f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        self.sock.settimeout(0.2)
        self.created: dict[str, float] = {}
        self.changed = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        pending, kind = b"", ""
        while not self.stopped:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            arrived = time.perf_counter()
            *lines, pending = (pending + chunk).split(b"\n")
            for line in (x.rstrip(b"\r").decode("utf-8", "replace") for x in lines):
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "created":
                    with self.changed:
                        self.created[json.loads(line[6:])["request_id"]] = arrived
                        self.changed.notify_all()

    def wait_created(self, request_id: str) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: request_id in self.created, timeout=SEEN_TIMEOUT):
                raise RuntimeError(f"the dashboard stream never showed {request_id}")
            return self.created[request_id]

    def wait_any_new(self, known: set[str]) -> tuple[str, float]:
        with self.changed:
            if not self.changed.wait_for(lambda: set(self.created) - known, timeout=SEEN_TIMEOUT):
                raise RuntimeError("the dashboard stream showed no new request")
            request_id = sorted(set(self.created) - known)[0]
            return request_id, self.created[request_id]

    def close(self) -> None:
        self.stopped = True
        self.thread.join(timeout=2)
        self.sock.close()


@dataclass
class Trips:
    """Per step, the milliseconds of each round."""

    steps: dict[str, list[float]] = field(default_factory=dict)
    total: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, step: str, ms: float) -> None:
        self.steps.setdefault(step, []).append(ms)


def project(root: Path, name: str, server: Server, wait: int) -> Path:
    folder = root / name
    (folder / ".git").mkdir(parents=True)
    (folder / "interlock.toml").write_text(
        f'[approvals]\nserver = "{server.url}"\nwait = {wait}\n', "utf-8"
    )
    return folder


def hook_env(base: dict[str, str], root: Path) -> dict[str, str]:
    """No daemon, the audit log and bytecode cache in the temp folder, no inherited overrides."""
    drop = ("INTERLOCK_CONFIG", "INTERLOCK_SERVER", "INTERLOCK_HOME", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in base.items() if k not in drop}
    env.update(
        INTERLOCK_DAEMON="0",
        INTERLOCK_AUDIT_LOG=str(root / "hook-audit.jsonl"),
        PYTHONPYCACHEPREFIX=str(root / "pycache"),
    )
    return env


def approve(port: int, who: SignedIn, request_id: str) -> None:
    """What the dashboard does on Approve: read the card's binding, vote with it."""
    card = fetch(port, Call("GET", f"/api/v1/requests/{request_id}", headers=who.headers()))
    binding = card.json()["binding"]
    vote = fetch(
        port,
        post_json(
            f"/api/v1/requests/{request_id}/votes",
            {"vote": "approve", "binding": binding, "note": "bench"},
            who.headers(write=True),
        ),
    )
    if vote.status != 200 or vote.json().get("state") != "approved":
        raise RuntimeError(f"approving {request_id}: HTTP {vote.status} {vote.body[:200]!r}")


def measure(
    python: str,
    server: Server,
    who: SignedIn,
    root: Path,
    rounds: int,
    env: dict[str, str],
) -> dict[str, Any]:
    hooks = hook_env(env, root)
    retry_project = project(root, "trip-retry", server, 0)
    held_project = project(root, "trip-held", server, HELD_WAIT)

    def hook(folder: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [python, "-m", "interlock.hooks", "claude-code"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=folder,
            env=hooks,
        )

    def answer(proc: subprocess.Popen[bytes], folder: Path, command: str) -> tuple[int, str]:
        out, err = proc.communicate(claude_code(command, str(folder)), timeout=60)
        return proc.returncode, (out + err).decode("utf-8", "replace")

    baseline: list[float] = []
    retry, held = Trips(), Trips()
    watch = EventWatch(server.port, who)
    try:
        answer(hook(retry_project), retry_project, "ls")  # bytecode written, untimed
        for n in range(rounds):
            started = time.perf_counter()
            rc, text = answer(hook(retry_project), retry_project, "ls -la")
            baseline.append((time.perf_counter() - started) * 1e3)
            if rc != 0 or text.strip():
                retry.problems.append(f"the allowed ls did not pass: rc {rc} {text[:200]}")
            _retry_round(retry, retry_project, n, hook, answer, watch, server, who)
            _held_round(held, held_project, n, hook, answer, watch, server, who)
    finally:
        watch.close()
    return {
        "rounds": rounds,
        "baseline_ms": Summary.of("baseline", [int(x * 1e6) for x in baseline]).median_ns / 1e6,
        "retry": _summary(retry),
        "held": _summary(held),
    }


def _retry_round(
    trips: Trips,
    folder: Path,
    n: int,
    hook: Any,
    answer: Any,
    watch: EventWatch,
    server: Server,
    who: SignedIn,
) -> None:
    command = f"rm -rf {folder}/victim-{n}"
    started = time.perf_counter()
    rc, text = answer(hook(folder), folder, command)
    denied = time.perf_counter()
    found = REQUEST_ID.search(text)
    if rc != 2 or found is None:
        trips.problems.append(f"first call not held with a request id: rc {rc} {text[:200]}")
        return
    shown = watch.wait_created(found.group(0))
    approve(server.port, who, found.group(0))
    approved = time.perf_counter()
    rc, text = answer(hook(folder), folder, command)
    done = time.perf_counter()
    if rc != 0 or text.strip():
        trips.problems.append(f"the retry after approval did not pass: rc {rc} {text[:200]}")
    trips.add("hook files the ask and denies with its id", (denied - started) * 1e3)
    trips.add("dashboard stream shows it, after the hook answered", max(0, shown - denied) * 1e3)
    trips.add("approver reads the card and votes", (approved - max(shown, denied)) * 1e3)
    trips.add("the retried hook call passes", (done - approved) * 1e3)
    trips.total.append((done - started) * 1e3)


def _held_round(
    trips: Trips,
    folder: Path,
    n: int,
    hook: Any,
    answer: Any,
    watch: EventWatch,
    server: Server,
    who: SignedIn,
) -> None:
    command = f"rm -rf {folder}/victim-{n}"
    known = set(watch.created)
    started = time.perf_counter()
    proc = hook(folder)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(claude_code(command, str(folder)))
    proc.stdin.close()
    request_id, shown = watch.wait_any_new(known)
    approve(server.port, who, request_id)
    approved = time.perf_counter()
    proc.wait(timeout=60)
    done = time.perf_counter()
    text = (proc.stdout.read() + proc.stderr.read()).decode("utf-8", "replace")
    if proc.returncode != 0 or text.strip():
        trips.problems.append(f"the held call did not pass: rc {proc.returncode} {text[:200]}")
    trips.add("hook files the ask, dashboard stream shows it", (shown - started) * 1e3)
    trips.add("approver reads the card and votes", (approved - shown) * 1e3)
    trips.add("the waiting hook sees it and passes", (done - approved) * 1e3)
    trips.total.append((done - started) * 1e3)


def _summary(trips: Trips) -> dict[str, Any]:
    def ms(values: list[float]) -> dict[str, float]:
        s = Summary.of("ms", [int(v * 1e6) for v in values])
        return {"median": round(s.median_ns / 1e6, 1), "p99": round(s.p99_ns / 1e6, 1)}

    if not trips.total:
        return {"problems": trips.problems or ["no round completed"]}
    return {
        "steps": {k: ms(v) for k, v in trips.steps.items()},
        "total_ms": ms(trips.total),
        "problems": trips.problems,
    }
