"""The benchmark's readable table (issue #2 item 9); the figures come from report.py.

Sections in the order a reader asks: did the targets pass; what each kind of hook call costs
(daemon warm, then in-process); how the daemon started and that it was stopped; then the
in-process decision, import times and the cost ladder, which say where time goes.
"""

from __future__ import annotations

from typing import Any

from decide_times import shown
from hook_calls import Group
from report import Results, targets
from stats import Summary, fmt


def table(r: Results) -> str:
    lines = [f"Interlock benchmarks, {r.when}, {_machine(r.machine)}", ""]
    lines += _grid(
        ["target", "goal", "measured", "baseline", "status"],
        [[t.name, t.goal, t.measured, t.baseline, t.status] for t in targets(r)],
    )
    for t in targets(r):
        lines += [f"  ! {t.name}: {note}" for note in t.notes]
    lines += _group(r.warm, fast=True) + _group(r.others, fast=True)
    lines += _group(r.cold, fast=False) + _daemon(r)
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
    lines += _kinds(r)
    lines += _imports(r) + _fast_ladder(r) + _phases(r) + _ladder(r)
    return "\n".join(lines)


def _kinds(r: Results) -> list[str]:
    """decide() per kind of action, and what the first SQL or GraphQL of a process costs."""
    if r.kinds is None:
        return []
    k = r.kinds
    lines = ["", "decide() per kind of action, unique strings, after import"]
    lines += _grid(
        ["kind", "n", "median", "p99", "max"],
        [
            [kind, str(s.count), fmt(s.median_ns, "us"), fmt(s.p99_ns, "us"), fmt(s.max_ns, "us")]
            for kind, s in k.series.items()
        ],
    )
    lines += [f"  ! {kind}: decide() raised {error}" for kind, error in k.errors.items()]
    base = k.first.get("shell")
    lines += ["", "First decide() of a fresh process (lazy parser imports included)"]
    rows = []
    for kind, s in k.first.items():
        delta = 0.0 if base is None else s.median_ns - base.median_ns
        sign = "+" if delta >= 0 else "-"
        extra = "baseline" if s is base or base is None else f"{sign}{fmt(abs(delta), 'ms')}"
        rows.append([kind, str(s.count), fmt(s.median_ns, "ms"), extra])
    lines += _grid(["first action", "n", "median", "vs shell"], rows)
    return lines


def _group(g: Group, fast: bool) -> list[str]:
    """One interleaved series: its bare row, each case, and how many took the fast path."""
    lines = ["", g.title]
    bare = g.bare
    rows = [[bare.name, str(bare.count), fmt(bare.median_ns, "ms"), fmt(bare.p99_ns, "ms")]]
    rows[0] += ["", "", ""]
    for c in g.cases:
        s = c.summary
        rows.append(
            [
                s.name,
                str(s.count),
                fmt(s.median_ns, "ms"),
                fmt(s.p99_ns, "ms"),
                "+" + fmt(s.median_ns - bare.median_ns, "ms"),
                f"{s.count - c.missed}/{s.count}" if fast else "off",
                "ok" if not c.problems else "WRONG ANSWER",
            ]
        )
    lines += _grid(["call", "n", "median", "p99", "over bare", "daemon", "answer"], rows)
    for c in g.cases:
        lines += [f"  ! {c.summary.name}: {p}" for p in c.problems]
    return lines


def _daemon(r: Results) -> list[str]:
    d = r.daemon
    ready = "never" if d.ready_after_ns < 0 else f"{d.ready_after_ns / 1e6:.0f} ms later"
    first = "ok" if not d.first_call_problem else f"WRONG ANSWER: {d.first_call_problem}"
    left = ", ".join(map(str, d.stopped.left)) or "none"
    return [
        "",
        "The bench's daemon",
        f"  first call of the session (no daemon yet: decides in-process, starts one): "
        f"{fmt(d.first_call_ns, 'ms')}, answer {first}",
        f"  socket answering {ready}: {d.socket}",
        f"  stopped at the end: pid(s) {', '.join(map(str, d.stopped.pids)) or 'none'}; "
        f"still running: {left}",
    ]


def _imports(r: Results) -> list[str]:
    if r.imports is None or r.bare_imports is None:
        return []
    p = r.imports
    lines = [
        "",
        "Import time of the hook, daemon warm (-X importtime, run with the median total)",
        f"  total {p.total_us / 1000:.1f} ms (bare interpreter {r.bare_imports.total_us / 1000:.1f} ms); "
        f"interlock {p.share('interlock') / 1000:.1f} ms: {', '.join(p.loaded('interlock'))}",
    ]
    if "interlock.hooks.runner" in p.loaded("interlock"):
        lines.append("  ! the runner was imported: this run did not take the fast path")
    if r.cold_imports is not None:
        c = r.cold_imports
        ts = c.share("tree_sitter") + c.share("tree_sitter_bash")
        lines.append(
            f"  in-process (INTERLOCK_DAEMON=0): total {c.total_us / 1000:.1f} ms; "
            f"interlock {c.share('interlock') / 1000:.1f} ms "
            f"({len(c.loaded('interlock'))} modules), tree_sitter {ts / 1000:.1f} ms"
        )
    lines += _grid(
        ["module, daemon warm (top 10 by own time)", "self", "cumulative"],
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
    lines = [
        "",
        "Inside one in-process hook call (claude-code rm -rf ~, median of fresh processes)",
    ]
    lines += _grid(
        ["phase", "time"],
        [
            ["interpreter start (bare median)", fmt(r.cold.bare.median_ns, "ms")],
            ["import interlock.hooks.runner", fmt(p.import_runner_ns, "ms")],
            ["import adapter, engine, parser, catalogs, audit", fmt(p.import_lazy_ns, "ms")],
            ["first run: set-up, decide, audit write", fmt(p.first_run_ns, "ms")],
            ["second run, same process (warm)", fmt(p.second_run_ns, "ms")],
        ],
    )
    if p.late_imports:
        lines.append("  also imported during the first run: " + ", ".join(p.late_imports[:12]))
    return lines


def _fast_ladder(r: Results) -> list[str]:
    if not r.fast_ladder:
        return []
    title = "What the fast path's wall time is made of (daemon warm; each step adds one layer)"
    lines = ["", title, *_steps(r.fast_ladder[:-1])]
    last = r.fast_ladder[-1]
    lines.append(
        f"  {last.name}: {fmt(last.median_ns, 'ms')} "
        f"(+{fmt(last.median_ns - r.fast_ladder[0].median_ns, 'ms')} over bare)"
    )
    return lines + [f"  ! {note}" for note in r.fast_ladder_notes]


def _ladder(r: Results) -> list[str]:
    if not r.ladder:
        return []
    lines = [
        "",
        "What the in-process hook's wall time is made of (each step imports one more layer;"
        " INTERLOCK_DAEMON=0)",
    ]
    return lines + _steps(r.ladder)


def _steps(ladder: list[Summary]) -> list[str]:
    rows, previous = [], None
    for step in ladder:
        added = "" if previous is None else "+" + fmt(step.median_ns - previous, "ms")
        rows.append([step.name, fmt(step.median_ns, "ms"), added, fmt(step.p99_ns, "ms")])
        previous = step.median_ns
    return _grid(["step", "median", "adds", "p99"], rows)


def _machine(m: dict[str, Any]) -> str:
    return f"Python {m.get('python')} on {m.get('platform')}, {m.get('cpus')} CPUs"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()

    return [line(header), "  " + "  ".join("-" * w for w in widths)] + [line(row) for row in rows]
