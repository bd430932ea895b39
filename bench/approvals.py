"""The approval server's speed targets, measured next to a baseline (issue 5 item 10).

    .venv/bin/python bench/approvals.py                    # SQLite, 16 connections, ~1 minute
    .venv/bin/python bench/approvals.py --postgres         # the same on a scratch PostgreSQL db
    .venv/bin/python bench/approvals.py --json             # one JSON object instead
    .venv/bin/python bench/approvals.py --profile          # plus cProfile of the service calls
    .venv/bin/python bench/approvals.py --requests 20 --rounds 2   # quick look

Two targets:

- **throughput**: a real `interlock serve` answers at least 200 decision or approval requests
  per second with p99 under 50 ms, measured by a load generator (16 keep-alive connections by
  default) in the same run as the ``/health`` baseline. Decision requests: agents filing asks
  (new and repeated) and retrying approved ones; approval requests: approvers' votes and
  agents' status polls (approval_load.py).
- **round trip**, machine part: the real hook files an ask, an approver's dashboard stream
  shows it, the approver approves, the hook proceeds (the agent's retry, or the waiting hook);
  under 1 s (approval_trip.py).

The load generator runs on the same two cores as the server, so it takes CPU the server would
otherwise have; the table says how much. Targets are reported, never enforced: the exit status
is 0 whether they pass or not, and 1 only when the benchmark itself broke. The temp folder,
the server process and any scratch database are removed whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import approval_trip
from approval_http import Ran, run
from approval_load import health_calls, pipeline
from approval_server import add_approver, scratch_postgres, serving, sign_in
from stats import Summary, Target, fmt

RATE = 200.0
P99_MS = 50.0
TRIP_S = 1.0
TARGETED = {
    "file": "decision: POST /requests, file an ask (half of them repeats)",
    "consume": "decision: POST /requests, the approved retry",
    "vote": "approval: POST /requests/{id}/votes",
    "status": "approval: GET /requests/{id}/status",
}
TRIP_WAYS = {
    "retry": "hook denies with the id, approve, the agent's retry passes",
    "held": "hook waits, approve, it passes",
}
INFORMATIONAL = {"card": "approver reads the card: GET /requests/{id}"}


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="filing calls per round")
    parser.add_argument("--rounds", type=int, default=1, help="passes of the whole pipeline")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument(
        "--trips", type=int, default=10, help="approval round trips per way (0: none)"
    )
    parser.add_argument("--postgres", action="store_true", help="scratch PostgreSQL database")
    parser.add_argument(
        "--postgres-url", default="postgresql://postgres@127.0.0.1:5432", help="server to use"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter of the venv")
    parser.add_argument(
        "--interlock", help="the interlock command that serves (default: next to --python)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--profile", action="store_true", help="also cProfile the service")
    args = parser.parse_args(argv)
    for name in ("requests", "rounds", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.trips < 0:
        parser.error("--trips must be 0 or more")
    return args


@dataclass
class Series:
    """One kind of request over all rounds, with the CPU both sides spent on it."""

    name: str
    summary: Summary
    per_second: float
    client_cpu_s: float
    server_cpu_s: float
    wall_s: float
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.summary.as_dict("ms"),
            "per_second": round(self.per_second, 1),
            "client_cpu_s": round(self.client_cpu_s, 3),
            "server_cpu_s": round(self.server_cpu_s, 3),
            "wall_s": round(self.wall_s, 3),
            "problems": self.problems[:5],
            "problem_count": len(self.problems),
        }


@dataclass
class Report:
    when: str
    machine: dict[str, Any]
    database: str
    concurrency: int
    series: dict[str, Series]
    trip: dict[str, Any] | None
    cleanup: dict[str, Any]
    profile: str = ""

    def targets(self) -> list[Target]:
        base = self.series["health"]
        baseline = f"/health {base.per_second:.0f}/s, p99 {fmt(base.summary.p99_ns, 'ms')}"
        out = []
        for key, label in TARGETED.items():
            s = self.series[key]
            p99 = s.summary.p99_ns / 1e6
            notes = tuple(s.problems[:3])
            if len(s.problems) > 3:
                notes += (f"… {len(s.problems)} problems in all",)
            out.append(
                Target(
                    name=label,
                    goal=f">= {RATE:.0f}/s, p99 < {P99_MS:.0f} ms",
                    measured=f"{s.per_second:.0f}/s, median {fmt(s.summary.median_ns, 'ms')}, "
                    f"p99 {p99:.1f} ms",
                    baseline=baseline,
                    passed=s.per_second >= RATE and p99 < P99_MS and not s.problems,
                    notes=notes,
                )
            )
        if self.trip is not None:
            out += [_trip_target(self.trip, way) for way in ("retry", "held")]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "when": self.when,
            "machine": self.machine,
            "database": self.database,
            "concurrency": self.concurrency,
            "targets": [t.as_dict() for t in self.targets()],
            "series": {k: s.as_dict() for k, s in self.series.items()},
            "trip": self.trip,
            "cleanup": self.cleanup,
        }


def _trip_target(trip: dict[str, Any], way: str) -> Target:
    found = trip[way]
    name = f"round trip ({TRIP_WAYS[way]})"
    goal = f"median < {TRIP_S * 1000:.0f} ms"
    baseline = f"hook alone (ls) {trip['baseline_ms']:.0f} ms"
    if "total_ms" not in found:
        return Target(name, goal, "no round completed", baseline, False, tuple(found["problems"]))
    total = found["total_ms"]
    return Target(
        name=name,
        goal=goal,
        measured=f"{total['median']:.0f} ms, p99 {total['p99']:.0f} ms, {trip['rounds']} rounds",
        baseline=baseline,
        passed=total["median"] < TRIP_S * 1000 and not found["problems"],
        notes=tuple(found["problems"][:3]),
    )


def merge(name: str, runs: list[Ran], server_cpu: list[float]) -> Series:
    samples = [ns for r in runs for ns in r.latencies_ns]
    wall = sum(r.wall_s for r in runs)
    return Series(
        name=name,
        summary=Summary.of(name, samples),
        per_second=len(samples) / wall if wall else 0.0,
        client_cpu_s=sum(r.client_cpu_s for r in runs),
        server_cpu_s=sum(server_cpu),
        wall_s=wall,
        problems=[p for r in runs for p in r.problems],
    )


@contextmanager
def database(args: argparse.Namespace) -> Iterator[str | None]:
    if args.postgres:
        with scratch_postgres(args.postgres_url) as url:
            yield url
    else:
        with nullcontext():
            yield None


def project_in(root: Path, server_url: str | None = None) -> Path:
    """A throwaway project (``.git`` marks its root) whose interlock.toml names the server."""
    project = root / "project"
    (project / ".git").mkdir(parents=True, exist_ok=True)
    if server_url:
        (project / "interlock.toml").write_text(f'[approvals]\nserver = "{server_url}"\n')
    return project


def measure(args: argparse.Namespace, root: Path, progress: bool) -> Report:
    def say(text: str) -> None:
        if progress:
            print(f"… {text}", file=sys.stderr, flush=True)

    interlock = Path(args.interlock or Path(args.python).parent / "interlock")
    project = project_in(root)
    data = root / "data"
    cleanup: dict[str, Any] = {"folder": str(root)}
    load_before = os.getloadavg()[0]
    with database(args) as url:
        cleanup["database"] = url.rsplit("/", 1)[1] if url else None
        names = ("alice", "bob")
        passwords = [add_approver(interlock, project, data, url, n) for n in names]
        with serving(interlock, project, data, url, root / "serve.log") as server:
            cleanup["server_pid"] = server.process.pid
            approvers = [sign_in(server.port, n, p) for n, p in zip(names, passwords, strict=True)]
            say(f"interlock serve on {server.url} ({'PostgreSQL' if url else 'SQLite'})")
            say("warm-up pass (untimed)")
            run("warm-up", server.port, health_calls(100), args.concurrency)
            warm = min(100, args.requests)
            pipeline(server.port, project, approvers, 10**6, warm, 4, server.cpu_seconds)
            collected: dict[str, list[Ran]] = {}
            cpu: dict[str, list[float]] = {}
            for round_no in range(args.rounds):
                say(f"round {round_no + 1}/{args.rounds}: /health, then the approval pipeline")
                before = server.cpu_seconds()
                base = run("health", server.port, health_calls(args.requests), args.concurrency)
                collected.setdefault("health", []).append(base)
                cpu.setdefault("health", []).append(server.cpu_seconds() - before)
                done = pipeline(
                    server.port,
                    project,
                    approvers,
                    round_no * args.requests,
                    args.requests,
                    args.concurrency,
                    server.cpu_seconds,
                )
                for ran, spent in zip(done.series, done.server_cpu, strict=True):
                    collected.setdefault(ran.name, []).append(ran)
                    cpu.setdefault(ran.name, []).append(spent)
            trip = None
            if args.trips:
                say(f"approval round trips, {args.trips} per way")
                trip = approval_trip.measure(
                    args.python, server, approvers[0], root, args.trips, dict(os.environ)
                )
        cleanup["server_stopped"] = server.process.poll() is not None
    series = {name: merge(name, runs, cpu[name]) for name, runs in collected.items()}
    profile = profiled(args, root) if args.profile else ""
    return Report(
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine={**machine(), "load_1min": [load_before, os.getloadavg()[0]]},
        database="PostgreSQL (scratch database)" if args.postgres else "SQLite (WAL)",
        concurrency=args.concurrency,
        series=series,
        trip=trip,
        cleanup=cleanup,
        profile=profile,
    )


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
    }


def profiled(args: argparse.Namespace, root: Path) -> str:
    from approval_profile import profile

    return profile(root / "profile", min(args.requests, 500))


def render(r: Report) -> str:
    lines = [
        f"Interlock approval server, {r.when}, Python {r.machine['python']}, "
        f"{r.machine['platform']}, {r.machine['cpus']} CPUs, load average (1 min) "
        f"{r.machine['load_1min'][0]:.1f} before, {r.machine['load_1min'][1]:.1f} after",
        f"interlock serve ({r.database}), load generator: {r.concurrency} keep-alive "
        "connections from one asyncio process",
        "",
    ]
    lines += grid(
        ["target", "goal", "measured", "baseline", "status"],
        [[t.name, t.goal, t.measured, t.baseline, t.status] for t in r.targets()],
    )
    for t in r.targets():
        lines += [f"  ! {t.name}: {note}" for note in t.notes]
    lines += ["", "Every series (latency per request, measured by the load generator)"]
    rows = []
    for key, s in r.series.items():
        label = {"health": "baseline: GET /health", **TARGETED, **INFORMATIONAL}[key]
        rows.append(
            [
                label,
                str(s.summary.count),
                f"{s.per_second:.0f}/s",
                fmt(s.summary.median_ns, "ms"),
                fmt(s.summary.p99_ns, "ms"),
                fmt(s.summary.max_ns, "ms"),
                f"{s.server_cpu_s / s.wall_s:.0%}",
                f"{s.client_cpu_s / s.wall_s:.0%}",
                f"{s.server_cpu_s * 1e3 / s.summary.count:.2f} ms",
            ]
        )
    lines += grid(
        [
            "series",
            "n",
            "rate",
            "median",
            "p99",
            "max",
            "server CPU",
            "generator CPU",
            "server/req",
        ],
        rows,
    )
    lines += [
        "",
        "The load generator shares the machine's cores with the server: 'server CPU' and",
        "'generator CPU' are each process's CPU time over the series' wall time (100% = one core).",
    ]
    if r.trip is not None:
        lines += ["", f"Approval round trip, machine part, {r.trip['rounds']} rounds per way"]
        lines += [
            "(hooks in their own process, INTERLOCK_DAEMON=0; the approver acts on the SSE event)"
        ]
        rows = [["baseline: hook alone, allowed ls", f"{r.trip['baseline_ms']:.1f} ms", ""]]
        for way in ("retry", "held"):
            for step, v in r.trip[way].get("steps", {}).items():
                rows.append([f"{way}: {step}", f"{v['median']:.1f} ms", f"{v['p99']:.1f} ms"])
            if "total_ms" in r.trip[way]:
                v = r.trip[way]["total_ms"]
                rows.append([f"{way}: total", f"{v['median']:.1f} ms", f"{v['p99']:.1f} ms"])
        lines += grid(["step", "median", "p99"], rows)
    c = r.cleanup
    lines += [
        "",
        f"cleanup: server pid {c.get('server_pid')} stopped: {c.get('server_stopped')}; "
        f"temp folder removed: {c.get('folder_removed')}; scratch database: "
        f"{c.get('database') or 'none'} dropped: {c.get('database_dropped', '-')}",
    ]
    if r.profile:
        lines += ["", r.profile]
    return "\n".join(lines)


def grid(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(head, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return out


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    root = Path(tempfile.mkdtemp(prefix="interlock-approval-bench-"))
    try:
        report = measure(args, root, progress=not args.json)
    except Exception:
        traceback.print_exc()
        print(f"approval bench broke; server log: {root / 'serve.log'}", file=sys.stderr)
        log = root / "serve.log"
        if log.exists():
            print(log.read_text()[-3000:], file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report.cleanup["folder_removed"] = not root.exists()
    if report.cleanup.get("database"):
        report.cleanup["database_dropped"] = True
    print(json.dumps(report.as_dict(), indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
