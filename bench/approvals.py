"""The approval server's speed targets, measured next to a baseline (issue 5 item 10).

    .venv/bin/python bench/approvals.py                    # SQLite, about 1.5 minutes
    .venv/bin/python bench/approvals.py --postgres         # the same on a scratch PostgreSQL db
    .venv/bin/python bench/approvals.py --json             # one JSON object instead
    .venv/bin/python bench/approvals.py --profile          # plus cProfile of the service calls
    .venv/bin/python bench/approvals.py --requests 20 --trips 1    # quick look

Two targets:

- **throughput**: a real `interlock serve` answers at least 200 decision or approval requests
  per second with p99 under 50 ms, measured by a load generator in the same run as the
  ``/health`` baseline: at capacity (closed loop, 16 keep-alive connections) for the rate,
  and paced at 200 calls/s (open loop) for the p99 (approval_report.py says why both).
  Decision requests: agents filing asks (new and repeated) and retrying approved ones;
  approval requests: approvers' votes and agents' status polls (approval_load.py).
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
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import approval_trip
from approval_http import Ran, run
from approval_load import health_calls, pipeline
from approval_report import PHASES, RATE, Report, Series, render
from approval_server import (
    Server,
    SignedIn,
    add_approver,
    database_exists,
    scratch_postgres,
    serving,
    sign_in,
)


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="filing calls per phase")
    parser.add_argument("--rounds", type=int, default=1, help="passes of both phases")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--rate", type=float, default=RATE, help="calls/s of the paced phase")
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
    if args.rate <= 0:
        parser.error("--rate must be positive")
    return args


@contextmanager
def database(args: argparse.Namespace) -> Iterator[str | None]:
    if not args.postgres:
        yield None
        return
    with scratch_postgres(args.postgres_url) as url:
        yield url


def project_in(root: Path) -> Path:
    """A throwaway project (``.git`` marks its root): the actions' working folder."""
    project = root / "project"
    (project / ".git").mkdir(parents=True, exist_ok=True)
    return project


class Collected:
    """Each phase's runs per request kind, with the server CPU each one cost."""

    def __init__(self) -> None:
        self.runs: dict[str, dict[str, list[tuple[Ran, float]]]] = {p: {} for p in PHASES}

    def add(self, phase: str, ran: Ran, server_cpu: float) -> None:
        self.runs[phase].setdefault(ran.name, []).append((ran, server_cpu))

    def series(self) -> dict[str, dict[str, Series]]:
        return {
            phase: {
                name: Series.merge(name, [r for r, _ in pairs], [c for _, c in pairs])
                for name, pairs in kinds.items()
            }
            for phase, kinds in self.runs.items()
        }


def one_round(
    args: argparse.Namespace,
    server: Server,
    project: Path,
    approvers: list[SignedIn],
    first: int,
    collected: Collected,
) -> None:
    """Both phases: /health, then the approval pipeline, at capacity and then paced."""
    for offset, phase in enumerate(PHASES):
        rate = args.rate if phase == "paced" else None
        before = server.cpu_seconds()
        calls = health_calls(args.requests)
        collected.add(
            phase,
            run("health", server.port, calls, args.concurrency, rate),
            server.cpu_seconds() - before,
        )
        done = pipeline(
            server.port,
            project,
            approvers,
            first + offset * args.requests,
            args.requests,
            args.concurrency,
            server.cpu_seconds,
            rate,
        )
        for ran, spent in zip(done.series, done.server_cpu, strict=True):
            collected.add(phase, ran, spent)


def measure(args: argparse.Namespace, root: Path, progress: bool) -> Report:
    def say(text: str) -> None:
        if progress:
            print(f"… {text}", file=sys.stderr, flush=True)

    interlock = Path(args.interlock or Path(args.python).parent / "interlock")
    project = project_in(root)
    data = root / "data"
    cleanup: dict[str, Any] = {"folder": str(root)}
    load_before = os.getloadavg()[0]
    collected = Collected()
    trip = None
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
            pipeline(server.port, project, approvers, 10**7, warm, 4, server.cpu_seconds)
            for n in range(args.rounds):
                say(f"round {n + 1}/{args.rounds}: capacity, then paced at {args.rate:g}/s")
                one_round(args, server, project, approvers, 2 * n * args.requests, collected)
            if args.trips:
                say(f"approval round trips, {args.trips} per way")
                trip = approval_trip.measure(
                    args.python, server, approvers[0], root, args.trips, dict(os.environ)
                )
        cleanup["server_stopped"] = server.process.poll() is not None
    return Report(
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine={**machine(), "load_1min": [load_before, os.getloadavg()[0]]},
        database="PostgreSQL (scratch database)" if args.postgres else "SQLite (WAL)",
        concurrency=args.concurrency,
        rate=args.rate,
        series=collected.series(),
        trip=trip,
        cleanup=cleanup,
        profile=profiled(args, root) if args.profile else "",
    )


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
    }


def profiled(args: argparse.Namespace, root: Path) -> str:
    """The service's own share, on the run's kind of database (a second scratch one for PG)."""
    from approval_profile import profile

    count = min(args.requests, 500)
    with database(args) as url:
        return profile(root / "profile", count, url)


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    root = Path(tempfile.mkdtemp(prefix="interlock-approval-bench-"))
    try:
        report = measure(args, root, progress=not args.json)
    except Exception:
        traceback.print_exc()
        log = root / "serve.log"
        if log.exists():
            print(f"server log:\n{log.read_text()[-3000:]}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report.cleanup["folder_removed"] = not root.exists()
    if report.cleanup.get("database"):
        url = f"{args.postgres_url}/{report.cleanup['database']}"
        report.cleanup["database_dropped"] = not database_exists(url)
    print(json.dumps(report.as_dict(), indent=2) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
