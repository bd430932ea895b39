"""The approval bench's figures, targets and table (issue 5 item 10); measured by approvals.py.

Each request kind is measured twice: at **capacity** (closed loop: every connection sends its
next call as soon as it has an answer) and **paced** at the target rate (open loop: calls
are due at 200 per second, latency counted from when each was due). A target passes when the
capacity reaches the rate and the paced p99 stays under the bound, with every answer right.
The closed loop alone cannot judge latency: with 16 connections always busy, the median is
about 16 / throughput whatever the server does (Little's law), i.e. queueing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from approval_http import Ran
from stats import Summary, Target, fmt

RATE = 200.0
P99_MS = 50.0
TRIP_S = 1.0
PHASES = ("capacity", "paced")
TARGETED = {
    "file": "decision: POST /requests, file an ask (half of them repeats)",
    "consume": "decision: POST /requests, the approved retry",
    "vote": "approval: POST /requests/{id}/votes",
    "status": "approval: GET /requests/{id}/status",
}
LABELS = {
    "health": "baseline: GET /health",
    **TARGETED,
    "card": "approver reads the card: GET /requests/{id}",
}
COLUMNS = ["series", "n", "rate", "median", "p99", "max", "server CPU", "generator CPU"]
COLUMNS.append("server CPU/req")
TRIP_WAYS = {
    "retry": "hook denies with the id, approve, the agent's retry passes",
    "held": "hook waits, approve, it passes",
}


@dataclass
class Series:
    """One kind of request in one phase over all rounds, with the CPU both sides spent."""

    name: str
    summary: Summary
    per_second: float
    client_cpu_s: float
    server_cpu_s: float
    wall_s: float
    problems: list[str] = field(default_factory=list)

    @classmethod
    def merge(cls, name: str, runs: list[Ran], server_cpu: list[float]) -> Series:
        samples = [ns for r in runs for ns in r.latencies_ns]
        wall = sum(r.wall_s for r in runs)
        return cls(
            name=name,
            summary=Summary.of(name, samples),
            per_second=len(samples) / wall if wall else 0.0,
            client_cpu_s=sum(r.client_cpu_s for r in runs),
            server_cpu_s=sum(server_cpu),
            wall_s=wall,
            problems=[p for r in runs for p in r.problems],
        )

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
    rate: float
    series: dict[str, dict[str, Series]]
    """phase ("capacity", "paced") -> request kind -> figures."""
    trip: dict[str, Any] | None
    cleanup: dict[str, Any]
    profile: str = ""

    def targets(self) -> list[Target]:
        cap, paced = self.series["capacity"], self.series["paced"]
        baseline = (
            f"/health {cap['health'].per_second:.0f}/s; at {self.rate:.0f}/s p99 "
            f"{fmt(paced['health'].summary.p99_ns, 'ms')}"
        )
        out = []
        for key, label in TARGETED.items():
            most, at = cap[key], paced[key]
            p99 = at.summary.p99_ns / 1e6
            problems = most.problems + at.problems
            notes = tuple(problems[:3])
            if len(problems) > 3:
                notes += (f"… {len(problems)} problems in all",)
            out.append(
                Target(
                    name=label,
                    goal=f">= {RATE:.0f}/s; p99 < {P99_MS:.0f} ms at {self.rate:.0f}/s",
                    measured=f"{most.per_second:.0f}/s; p99 {p99:.1f} ms "
                    f"(median {fmt(at.summary.median_ns, 'ms')})",
                    baseline=baseline,
                    passed=most.per_second >= RATE and p99 < P99_MS and not problems,
                    notes=notes,
                )
            )
        if self.trip is not None:
            out += [_trip_target(self.trip, way) for way in TRIP_WAYS]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "when": self.when,
            "machine": self.machine,
            "database": self.database,
            "concurrency": self.concurrency,
            "rate": self.rate,
            "targets": [t.as_dict() for t in self.targets()],
            "series": {
                phase: {k: s.as_dict() for k, s in kinds.items()}
                for phase, kinds in self.series.items()
            },
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


def render(r: Report) -> str:
    m = r.machine
    lines = [
        f"Interlock approval server, {r.when}, Python {m['python']}, {m['platform']}, "
        f"{m['cpus']} CPUs, load average (1 min) {m['load_1min'][0]:.1f} before, "
        f"{m['load_1min'][1]:.1f} after",
        f"interlock serve ({r.database}); load generator: one asyncio process, up to "
        f"{r.concurrency} keep-alive connections",
        "",
    ]
    lines += grid(
        ["target", "goal", "measured", "baseline", "status"],
        [[t.name, t.goal, t.measured, t.baseline, t.status] for t in r.targets()],
    )
    for t in r.targets():
        lines += [f"  ! {t.name}: {note}" for note in t.notes]
    titles = {
        "capacity": "Capacity: closed loop, each connection sends as soon as it is answered "
        "(latency here is mostly queueing)",
        "paced": f"Paced: open loop, {r.rate:.0f} calls/s, latency counted from when each "
        "call was due",
    }
    for phase in PHASES:
        lines += ["", titles[phase]]
        lines += grid(COLUMNS, [_row(s) for s in r.series[phase].values()])
    lines += [
        "",
        "The load generator shares the machine's cores with the server: 'server CPU' and",
        "'generator CPU' are each process's CPU time over the series' wall time (100% = one core).",
    ]
    if r.trip is not None:
        lines += _trip_lines(r.trip)
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


def _row(s: Series) -> list[str]:
    return [
        LABELS[s.name],
        str(s.summary.count),
        f"{s.per_second:.0f}/s",
        fmt(s.summary.median_ns, "ms"),
        fmt(s.summary.p99_ns, "ms"),
        fmt(s.summary.max_ns, "ms"),
        f"{s.server_cpu_s / s.wall_s:.0%}",
        f"{s.client_cpu_s / s.wall_s:.0%}",
        f"{s.server_cpu_s * 1e3 / s.summary.count:.2f} ms",
    ]


def _trip_lines(trip: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"Approval round trip, machine part, {trip['rounds']} rounds per way",
        "(hooks in their own process, INTERLOCK_DAEMON=0; the approver acts on the SSE event)",
    ]
    rows = [["baseline: hook alone, allowed ls", f"{trip['baseline_ms']:.1f} ms", ""]]
    for way in TRIP_WAYS:
        for step, v in trip[way].get("steps", {}).items():
            rows.append([f"{way}: {step}", f"{v['median']:.1f} ms", f"{v['p99']:.1f} ms"])
        if "total_ms" in trip[way]:
            v = trip[way]["total_ms"]
            rows.append([f"{way}: total", f"{v['median']:.1f} ms", f"{v['p99']:.1f} ms"])
    return lines + grid(["step", "median", "p99"], rows)


def grid(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(head, widths, strict=True)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return out
