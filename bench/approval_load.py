"""The approval server's load: what agents and approvers send, as series of prebuilt calls.

One pipeline, in the order requests live (issue 5 item 10):

1. ``file``: agents ``POST /api/v1/requests`` with ask actions of five kinds; every second
   call repeats an action filed about ``concurrency`` calls earlier (a hook asking again while
   it waits), which the server must answer with the same pending request (dedupe).
2. ``card``: an approver reads each new request (``GET /api/v1/requests/{id}``), as the
   dashboard does; the card carries the binding a vote must name.
3. ``vote``: an approver approves each one (``POST …/votes`` with cookie and CSRF token).
4. ``status``: agents poll ``GET …/status`` (no wait), as a hook does while it waits.
5. ``consume``: each agent retries its action (``POST /api/v1/requests`` again), which takes
   the approval, exactly once.

Each call carries a check; a wrong answer (a denied ask, a dedupe that filed a second request,
a retry not approved) is a problem, and a series with problems is judged FAIL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from approval_http import Call, Ran, post_json, run
from approval_server import SignedIn

API = "/api/v1"
TEMPLATES: tuple[tuple[str, str], ...] = (
    ("shell", "rm -rf {project}/build-{n}"),
    ("shell", "git clean -fdx build-{n}"),
    ("shell", "find {project}/cache-{n} -delete"),
    ("shell", 'psql -c "TRUNCATE orders_{n}"'),
    ("sql", "DROP TABLE orders_{n}"),
)
"""Ask actions (decide() says ``ask`` for each in a plain project), varied so the server's
decision and card are not the same work every time."""


def action(project: Path, n: int) -> dict[str, Any]:
    """The wire form a hook sends (interlock.actions.action_to_json) for action number ``n``."""
    kind, text = TEMPLATES[n % len(TEMPLATES)]
    filled = text.format(project=project, n=n)
    payload = {"command": filled} if kind == "shell" else {"sql": filled, "dialect": "postgres"}
    return {
        "kind": kind,
        "payload": payload,
        "env": None,
        "cwd": str(project),
        "actor": {"agent": "claude-code", "session": f"bench-{n % 16}"},
    }


def expect_state(*wanted: str) -> Callable[[int, bytes], str | None]:
    def check(status: int, body: bytes) -> str | None:
        if not 200 <= status < 300:
            return f"HTTP {status}: {body[:200]!r}"
        state = json.loads(body).get("state")
        return None if state in wanted else f"state {state!r}, expected {' or '.join(wanted)}"

    return check


@dataclass
class Pipeline:
    """The five series of one pass, and the request ids and bindings they produced."""

    series: list[Ran]
    server_cpu: list[float]
    """CPU seconds the server spent during each series."""


def file_calls(project: Path, first: int, count: int, concurrency: int) -> list[tuple[int, Call]]:
    """``count`` submissions (action number, call): new actions ``first…`` interleaved with
    repeats of earlier ones."""
    calls = []
    pending = expect_state("pending")
    for i in range(count):
        new = i // 2
        n = first + (new if i % 2 == 0 else max(0, new - concurrency))
        body = {"action": action(project, n), "reason": "bench: clean up the build output"}
        calls.append((n, post_json(f"{API}/requests", body, check=pending)))
    return calls


def pipeline(
    port: int,
    project: Path,
    approvers: list[SignedIn],
    first: int,
    count: int,
    concurrency: int,
    server_cpu: Callable[[], float],
    rate: float | None = None,
) -> Pipeline:
    """One pass over the five series; ``count`` is the number of ``file`` calls.

    ``server_cpu`` reads the server process's CPU time, so each series says what it cost
    the server next to what it cost the load generator. ``rate``: open loop at that many
    calls per second (approval_http.run), else as fast as the server answers.
    """
    spent: list[float] = []

    def timed(name: str, calls: list[Call]) -> Ran:
        before = server_cpu()
        ran = run(name, port, calls, concurrency, rate)
        spent.append(server_cpu() - before)
        return ran

    filing = file_calls(project, first, count, concurrency)
    filed = timed("file", [call for _, call in filing])
    ids: dict[int, str] = {}
    for (n, _), answer in zip(filing, filed.answers, strict=True):
        found = answer.json().get("id") if answer.status < 300 else None
        if n in ids and found is not None and ids[n] != found:
            filed.problems.append(f"action {n} filed twice: {ids[n]} and {found}")
        ids.setdefault(n, found or "")
    order = sorted(n for n, rid in ids.items() if rid)
    pending = expect_state("pending")

    def read(rid: str, who: SignedIn) -> Call:
        return Call("GET", f"{API}/requests/{rid}", headers=who.headers(), check=pending)

    cards = [read(ids[n], approvers[i % len(approvers)]) for i, n in enumerate(order)]
    carded = timed("card", cards)
    bindings = [a.json().get("binding", "") if a.status == 200 else "" for a in carded.answers]
    votes = [
        post_json(
            f"{API}/requests/{ids[n]}/votes",
            {"vote": "approve", "binding": binding, "note": "bench"},
            approvers[i % len(approvers)].headers(write=True),
            check=expect_state("approved"),
        )
        for i, (n, binding) in enumerate(zip(order, bindings, strict=True))
    ]
    voted = timed("vote", votes)
    polls = [
        Call("GET", f"{API}/requests/{ids[order[i % len(order)]]}/status", check=_status_ok)
        for i in range(count)
    ]
    polled = timed("status", polls)
    retries = [
        post_json(
            f"{API}/requests",
            {"action": action(project, n), "reason": "bench: retry"},
            check=expect_state("approved"),
        )
        for n in order
    ]
    consumed = timed("consume", retries)
    return Pipeline([filed, carded, voted, polled, consumed], spent)


def health_calls(count: int) -> list[Call]:
    return [Call("GET", "/health") for _ in range(count)]


def _status_ok(status: int, body: bytes) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    return None if json.loads(body).get("state") == "approved" else "not approved"
