"""Where an approval request's server time goes: the service in process, under cProfile.

uvicorn runs the service calls in Starlette's thread pool, where a profiler started in the
main thread sees nothing; so this drives :class:`ApprovalService` directly, on its own SQLite
database and audit log (the server writes both), with the actions the load generator sends.
Each step is also timed on its own, one call at a time, so the table can be set next to the
HTTP latency: the difference is uvicorn, Starlette, JSON, the thread pool and the waiting
concurrent requests do for each other (the SQLite write lock, the audit log's lock).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Callable
from pathlib import Path

from approval_load import action
from stats import Summary, fmt


def profile(root: Path, count: int, database_url: str | None = None) -> str:
    """Time, then profile, ``count`` calls of each step; SQLite unless ``database_url``."""
    from interlock.actions import action_from_json
    from interlock.audit import AuditLog
    from interlock.config import load_policy
    from interlock.server import db
    from interlock.server.approvals import ApprovalService

    project = root / "project"
    (project / ".git").mkdir(parents=True)
    engine = db.connect(database_url or db.sqlite_url(root))
    db.migrate(engine)
    service = ApprovalService(engine, load_policy(project), audit=AuditLog(root / "audit.jsonl"))
    actions = [action_from_json(action(project, n)) for n in range(2 * count)]
    ids: dict[int, str] = {}

    def file(n: int) -> None:
        ids[n] = service.submit(actions[n], reason="bench").request_id or ""

    def vote(n: int) -> None:
        found = service.get(ids[n])
        assert found is not None
        service.vote(ids[n], "alice", "approve", binding=found["binding"])

    def consume(n: int) -> None:
        if service.submit(actions[n], reason="bench").state != "approved":
            raise RuntimeError("the approved retry was not approved")

    def status(n: int) -> None:
        service.status(ids[n])

    steps: tuple[tuple[str, Callable[[int], None]], ...] = (
        ("file", file),
        ("card + vote", vote),
        ("status", status),
        ("consume", consume),
    )
    where = "PostgreSQL" if database_url else "SQLite"
    out = [f"In process: ApprovalService on {where}, {count} calls per step, no HTTP, no profiler"]
    for name, step in steps:
        summary = Summary.of(name, [_timed(step, n) for n in range(count)])
        out.append(
            f"  {name:12} median {fmt(summary.median_ns, 'ms')}, p99 {fmt(summary.p99_ns, 'ms')}"
        )
    out.append("")
    for name, step in steps:  # a second pass, on other actions, under the profiler
        profiler = cProfile.Profile()
        for n in range(count, 2 * count):
            profiler.runcall(step, n)
        out.append(f"cProfile: {name} (top 18 by cumulative time)\n{_top(profiler)}")
    engine.dispose()
    return "\n".join(out)


def _timed(step: Callable[[int], None], n: int) -> int:
    started = time.perf_counter_ns()
    step(n)
    return time.perf_counter_ns() - started


def _top(profiler: cProfile.Profile) -> str:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(18)
    lines = [x for x in text.getvalue().splitlines() if x.strip()]
    start = next((i for i, x in enumerate(lines) if x.lstrip().startswith("ncalls")), 0)
    return "\n".join(lines[start:])
