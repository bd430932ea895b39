"""The benchmark's verdicts and its readable table (issue #2 item 9).

Targets, as the issue states them, each judged on a figure and a baseline from the same run:

- the hook process within 20 ms of the bare interpreter, at the median, for a benign and a
  destructive Claude Code call;
- the in-process decision under 100 µs at the median, on unique strings (no parse cache).

A target whose timed calls did not get the expected answer is a FAIL whatever its time: a hook
that crashed on import is fast, and fails closed, and says nothing about the real path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from breakdown import Phases
from decide_times import DecideResult, shown
from hook_calls import CaseResult
from importtime import ImportProfile
from stats import Summary, Target, fmt

HOOK_BUDGET_NS = 20e6
DECIDE_BUDGET_NS = 100e3


@dataclass(frozen=True)
class Results:
    when: str
    machine: dict[str, Any]
    bare: Summary
    main: list[CaseResult]
    others: list[CaseResult]
    decide: DecideResult | None
    slowest: list[tuple[str, Summary]]
    imports: ImportProfile | None
    bare_imports: ImportProfile | None
    phases: Phases | None
    ladder: list[Summary]


def targets(r: Results) -> list[Target]:
    out = []
    for result in r.main:
        over = result.summary.median_ns - r.bare.median_ns
        out.append(
            Target(
                name=f"hook process: {result.case.name}",
                goal="median - bare median <= 20 ms",
                measured=f"{fmt(result.summary.median_ns, 'ms')} (+{fmt(over, 'ms')})",
                baseline=f"{fmt(r.bare.median_ns, 'ms')} bare",
                passed=over <= HOOK_BUDGET_NS and not result.problems,
                notes=result.problems,
            )
        )
    if r.decide is not None:
        d = r.decide
        notes = tuple(f"verdict changed by the uniqueness marker: {c!r}" for c in d.mismatches)
        by_error: dict[str, list[str]] = {}
        for command, error in d.errors.items():
            by_error.setdefault(error, []).append(command)
        notes += tuple(
            f"{len(cs)} command(s) left out, decide() raised {e}: e.g. {cs[0]!r}"
            for e, cs in by_error.items()
        )
        out.append(
            Target(
                name="decide() per shell command, unique strings",
                goal="median < 100 µs",
                measured=f"{fmt(d.uncached.median_ns, 'us')} (p99 {fmt(d.uncached.p99_ns, 'us')})",
                baseline=f"{fmt(d.cached.median_ns, 'us')} cached",
                passed=d.uncached.median_ns < DECIDE_BUDGET_NS,
                notes=notes,
            )
        )
    return out


def as_dict(r: Results) -> dict[str, Any]:
    def case(c: CaseResult) -> dict[str, Any]:
        body = c.summary.as_dict("ms")
        body["overhead_median_ms"] = round((c.summary.median_ns - r.bare.median_ns) / 1e6, 3)
        body["answer_problems"] = list(c.problems)
        return body

    return {
        "date": r.when,
        "machine": r.machine,
        "targets": [t.as_dict() for t in targets(r)],
        "hook_process": {
            "bare": r.bare.as_dict("ms"),
            "cases": [case(c) for c in r.main + r.others],
        },
        "decide": None
        if r.decide is None
        else {
            "cached": r.decide.cached.as_dict("us"),
            "uncached": r.decide.uncached.as_dict("us"),
            "verdicts": r.decide.verdicts,
            "marker_mismatches": list(r.decide.mismatches),
            "errors": r.decide.errors,
            "slowest_uncached": [s.as_dict("us") for _, s in r.slowest],
        },
        "import_time": None
        if r.imports is None or r.bare_imports is None
        else {"hook": r.imports.as_dict(), "bare_total_us": r.bare_imports.total_us},
        "breakdown": None if r.phases is None else r.phases.as_dict(),
        "ladder": [s.as_dict("ms") for s in r.ladder],
    }


def table(r: Results) -> str:
    lines = [f"Interlock benchmarks, {r.when}, {_machine(r.machine)}", ""]
    lines += _grid(
        ["target", "goal", "measured", "baseline", "status"],
        [[t.name, t.goal, t.measured, t.baseline, t.status] for t in targets(r)],
    )
    for t in targets(r):
        lines += [f"  ! {t.name}: {note}" for note in t.notes]
    lines += ["", "Hook process per call (subprocess.run, interleaved with the bare interpreter)"]
    rows = [
        [
            r.bare.name,
            str(r.bare.count),
            fmt(r.bare.median_ns, "ms"),
            fmt(r.bare.p99_ns, "ms"),
            "",
            "",
        ]
    ]
    for c in r.main + r.others:
        s = c.summary
        rows.append(
            [
                s.name,
                str(s.count),
                fmt(s.median_ns, "ms"),
                fmt(s.p99_ns, "ms"),
                "+" + fmt(s.median_ns - r.bare.median_ns, "ms"),
                "ok" if not c.problems else "WRONG ANSWER",
            ]
        )
    lines += _grid(["call", "n", "median", "p99", "over bare", "answer"], rows)
    if r.decide is not None:
        d = r.decide
        lines += ["", f"decide() in process, {len(d.verdicts)} shell commands"]
        lines += _grid(
            ["series", "n", "median", "p99", "max"],
            [
                [
                    s.name,
                    str(s.count),
                    fmt(s.median_ns, "us"),
                    fmt(s.p99_ns, "us"),
                    fmt(s.max_ns, "us"),
                ]
                for s in (d.cached, d.uncached)
            ],
        )
        tally: dict[str, int] = {}
        for verdict in d.verdicts.values():
            tally[verdict] = tally.get(verdict, 0) + 1
        lines.append("  verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(tally.items())))
    if r.slowest:
        lines += ["", "Slowest commands, uncached median"]
        lines += _grid(
            ["command", "median", "p99"],
            [[shown(c), fmt(s.median_ns, "us"), fmt(s.p99_ns, "us")] for c, s in r.slowest],
        )
    lines += _imports(r) + _phases(r) + _ladder(r)
    return "\n".join(lines)


def _imports(r: Results) -> list[str]:
    if r.imports is None or r.bare_imports is None:
        return []
    p = r.imports
    ts = p.share("tree_sitter") + p.share("tree_sitter_bash")
    lines = [
        "",
        "Import time of the hook path (-X importtime, run with the median total)",
        f"  total {p.total_us / 1000:.1f} ms (bare interpreter {r.bare_imports.total_us / 1000:.1f} ms); "
        f"interlock {p.share('interlock') / 1000:.1f} ms, tree_sitter {ts / 1000:.1f} ms",
    ]
    lines += _grid(
        ["module (top 10 by own time)", "self", "cumulative"],
        [
            [m.name, f"{m.self_us / 1000:.2f} ms", f"{m.cumulative_us / 1000:.2f} ms"]
            for m in p.top()
        ],
    )
    return lines


def _phases(r: Results) -> list[str]:
    if r.phases is None:
        return []
    p = r.phases
    lines = ["", "Inside one hook process (claude-code rm -rf ~, median of fresh processes)"]
    lines += _grid(
        ["phase", "time"],
        [
            ["interpreter start (bare median)", fmt(r.bare.median_ns, "ms")],
            ["import interlock.hooks.runner", fmt(p.import_runner_ns, "ms")],
            ["import adapter, engine, parser, catalogs, audit", fmt(p.import_lazy_ns, "ms")],
            ["first run: set-up, decide, audit write", fmt(p.first_run_ns, "ms")],
            ["second run, same process (warm)", fmt(p.second_run_ns, "ms")],
        ],
    )
    if p.late_imports:
        lines.append("  also imported during the first run: " + ", ".join(p.late_imports[:12]))
    return lines


def _ladder(r: Results) -> list[str]:
    if not r.ladder:
        return []
    lines = ["", "What the hook's wall time is made of (each step imports one more layer)"]
    rows, previous = [], None
    for step in r.ladder:
        added = "" if previous is None else "+" + fmt(step.median_ns - previous, "ms")
        rows.append([step.name, fmt(step.median_ns, "ms"), added, fmt(step.p99_ns, "ms")])
        previous = step.median_ns
    return lines + _grid(["step", "median", "adds", "p99"], rows)


def _machine(m: dict[str, Any]) -> str:
    return f"Python {m.get('python')} on {m.get('platform')}, {m.get('cpus')} CPUs"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    return [line(header), "  " + "  ".join("-" * w for w in widths)] + [line(row) for row in rows]
