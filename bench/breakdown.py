"""Where one hook process spends its time, phase by phase (issue #2 item 9, finding causes).

The wall time of a hook call is interpreter start-up (the bare baseline) plus what Interlock
adds. To say which part of the addition dominates, one fresh process times its own phases
with ``perf_counter_ns``, with the same payload the benchmark feeds the hook:

1. ``import interlock.hooks.runner`` (what ``python -m interlock.hooks`` imports first);
2. the modules the decision imports lazily (adapter, config, engine, shell analyzer, parser
   bindings, catalogs, audit), imported up front here so they can be timed apart;
3. the first ``runner.run``: parser and catalog set-up, the decision, the audit write;
4. a second ``runner.run`` of the same payload in the same process: the warm cost.

The probe runs the real runner and writes a real audit record (to the temp log). Two ladders
of fresh processes then say what each layer costs in wall time: the in-process hook's
(:func:`ladder`) and, with the daemon warm, the fast path's (:func:`fast_ladder`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hook_calls import Run, interleave
from stats import Summary

LAZY_MODULES = (
    "interlock.hooks.claude_code",
    "interlock.config",
    "interlock.engine",
    "tree_sitter",
    "tree_sitter_bash",
    "interlock.analyzers.shell",
    "interlock.analyzers.catalog",
    "interlock.audit",
)

_PROBE = """
import importlib, io, json, sys, time
payload = sys.stdin.buffer.read()
ns = time.perf_counter_ns
t0 = ns()
from interlock.hooks import runner
t1 = ns()
for name in LAZY:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
t2 = ns()
before = set(sys.modules)
first = runner.run("claude-code", io.BytesIO(payload))
t3 = ns()
late = sorted(set(sys.modules) - before)
second = runner.run("claude-code", io.BytesIO(payload))
t4 = ns()
print(json.dumps({
    "import_runner_ns": t1 - t0,
    "import_lazy_ns": t2 - t1,
    "first_run_ns": t3 - t2,
    "second_run_ns": t4 - t3,
    "first_exit": first.exit_code,
    "late_imports": late,
    "modules": sorted(sys.modules),
}))
"""


@dataclass(frozen=True)
class Phases:
    import_runner_ns: float
    import_lazy_ns: float
    first_run_ns: float
    second_run_ns: float
    late_imports: tuple[str, ...]
    """Modules the first run still imported although they were not in LAZY_MODULES."""
    modules: tuple[str, ...]
    """Every module loaded by the end of a hook call: the input of :func:`ladder`."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_runner_ms": round(self.import_runner_ns / 1e6, 3),
            "import_lazy_ms": round(self.import_lazy_ns / 1e6, 3),
            "first_run_ms": round(self.first_run_ns / 1e6, 3),
            "second_run_ms": round(self.second_run_ns / 1e6, 3),
            "late_imports": list(self.late_imports),
            "module_count": len(self.modules),
        }


def measure(python: str, stdin: bytes, cwd: Path, env: dict[str, str], runs: int = 5) -> Phases:
    """Median of each phase over ``runs`` fresh processes."""
    code = f"LAZY = {LAZY_MODULES!r}\n{_PROBE}"
    rows: list[dict[str, Any]] = []
    for _ in range(max(1, runs)):
        done = subprocess.run(
            [python, "-c", code], input=stdin, capture_output=True, cwd=cwd, env=env, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                "breakdown probe failed: " + done.stderr.decode("utf-8", "replace")[-600:]
            )
        rows.append(json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1]))

    def median(key: str) -> float:
        values = sorted(float(r[key]) for r in rows)
        return values[len(values) // 2]

    return Phases(
        import_runner_ns=median("import_runner_ns"),
        import_lazy_ns=median("import_lazy_ns"),
        first_run_ns=median("first_run_ns"),
        second_run_ns=median("second_run_ns"),
        late_imports=tuple(rows[-1]["late_imports"]),
        modules=tuple(rows[-1]["modules"]),
    )


def ladder_steps(modules: tuple[str, ...], bare: tuple[str, ...]) -> list[tuple[str, str]]:
    """Programs that each import one more layer of what a hook call loads.

    Timed like the hook, their differences say what each layer costs in wall time, which
    ``-X importtime`` cannot (it counts a module's own time under whoever imported it first,
    and leaves out loading shared libraries and tearing the interpreter down).
    """
    fresh = [m for m in modules if m not in bare and m != "__main__"]
    stdlib = [m for m in fresh if m.split(".")[0] in sys.stdlib_module_names]
    parser = [m for m in fresh if m.split(".")[0] in ("tree_sitter", "tree_sitter_bash")]
    ours = [m for m in fresh if m.split(".")[0] == "interlock"]
    layers = [
        ("+ the standard library modules the hook loads", stdlib),
        ("+ tree_sitter, tree_sitter_bash", parser),
        ("+ every interlock module the hook loads", ours),
    ]
    steps, so_far = [], []
    for label, names in layers:
        so_far += names
        code = (
            "import importlib\n"
            f"for m in {so_far!r}:\n"
            "    try:\n        importlib.import_module(m)\n"
            "    except Exception:\n        pass\n"
        )
        steps.append((f"{label} ({len(names)})", code))
    return steps


def bare_modules(python: str, cwd: Path, env: dict[str, str]) -> tuple[str, ...]:
    code = "import sys; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([python, "-c", code], capture_output=True, cwd=cwd, env=env, check=True)
    return tuple(done.stdout.decode("utf-8").split())


def ladder(
    python: str,
    phases: Phases,
    hook_stdin: bytes,
    calls: int,
    cwd: Path,
    env: dict[str, str],
) -> list[Summary]:
    """Wall time of each step of :func:`ladder_steps`, between the bare run and the hook."""
    steps = ladder_steps(phases.modules, bare_modules(python, cwd, env))
    runs: list[Run] = [([python, "-c", "pass"], hook_stdin, env)]
    runs += [([python, "-c", code], hook_stdin, env) for _, code in steps]
    runs.append(([python, "-m", "interlock.hooks", "claude-code"], hook_stdin, env))
    labels = ["bare interpreter"] + [label for label, _ in steps] + ["+ the call itself (hook)"]
    series = interleave(runs, calls, cwd)
    return [Summary.of(label, samples) for label, samples in zip(labels, series, strict=True)]


# The hook as installed is `python -m interlock.hooks <agent>`; the same entry without runpy.
NO_RUNPY = "import sys; from interlock.hooks.__main__ import _main; sys.exit(_main())"


def fast_ladder(
    python: str,
    hook_stdin: bytes,
    calls: int,
    cwd: Path,
    env: dict[str, str],
    seen: Callable[[int, subprocess.CompletedProcess[bytes], bool], None] | None = None,
    watch: Callable[[], object] | None = None,
) -> list[Summary]:
    """What the fast path's wall time is made of, with the daemon warm (``env`` enables it).

    ``-m`` makes the interpreter import runpy (and importlib.util, contextlib, collections)
    before any Interlock code runs; ``interlock/__init__.py`` may import ``typing``; then
    the client and the round trip. The last row runs the same ``__main__`` through ``-c``,
    without runpy: the price of the ``-m`` form, for whoever writes the agents' settings.
    """
    steps = [
        ("bare interpreter", ["-c", "pass"]),
        ("+ runpy (what -m imports first)", ["-c", "import runpy"]),
        ("+ typing", ["-c", "import runpy, typing"]),
        ("+ interlock.hooks.client", ["-c", "import runpy, typing, interlock.hooks.client"]),
        ("+ read, ask the daemon, answer (the hook)", ["-m", "interlock.hooks", "claude-code"]),
        ("the hook's __main__ through -c, no runpy", ["-c", NO_RUNPY, "claude-code"]),
    ]
    runs: list[Run] = [([python, *argv], hook_stdin, env) for _, argv in steps]
    series = interleave(runs, calls, cwd, seen, watch)
    return [Summary.of(label, samples) for (label, _), samples in zip(steps, series, strict=True)]
