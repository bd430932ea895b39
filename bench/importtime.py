"""Import time of the hook path, from ``python -X importtime`` (issue #2 item 9).

Imports are most of what a hook process does besides starting the interpreter, and they are
where a regression creeps in: one eager ``import click`` or ``import pydantic`` on the hot path
costs more than every decision. So the report shows the total and the ten most expensive
modules, next to the same figure for a bare interpreter.

The real hook is run (``-X importtime -m interlock.hooks claude-code`` fed a destructive
payload), twice over: with the daemon warm, what the fast path imports (the client only, if
the hook's ``__main__`` stays lean), and with ``INTERLOCK_DAEMON=0``, what deciding in-process
imports, lazily loaded analyzers, catalogs and audit log included. Several runs are made and
the one with the median total is reported.
"""

from __future__ import annotations

import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S.*)$")


@dataclass(frozen=True)
class Module:
    name: str
    self_us: int
    cumulative_us: int
    depth: int


@dataclass(frozen=True)
class ImportProfile:
    total_us: int
    """Sum of every module's own import time."""
    modules: tuple[Module, ...]

    def top(self, n: int = 10) -> list[Module]:
        return sorted(self.modules, key=lambda m: -m.self_us)[:n]

    def top_level(self, n: int = 10) -> list[Module]:
        """Modules imported directly (depth 0), by cumulative time: which packages cost."""
        return sorted((m for m in self.modules if m.depth == 0), key=lambda m: -m.cumulative_us)[:n]

    def loaded(self, package: str) -> list[str]:
        """Names of the modules of ``package`` this run imported, in import order."""
        return [m.name for m in self.modules if m.name.split(".")[0] == package]

    def share(self, prefix: str) -> int:
        return sum(m.self_us for m in self.modules if m.name.split(".")[0] == prefix)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_us": self.total_us,
            "interlock_us": self.share("interlock"),
            "tree_sitter_us": self.share("tree_sitter") + self.share("tree_sitter_bash"),
            "interlock_modules": self.loaded("interlock"),
            "top_self": [m.__dict__ for m in self.top()],
            "top_level_cumulative": [m.__dict__ for m in self.top_level()],
        }


def parse(stderr: str) -> ImportProfile:
    """The ``-X importtime`` lines of a process's stderr; other lines are ignored."""
    modules: list[Module] = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        own, cumulative, indent, name = match.groups()
        depth = max(0, (len(indent) - 1) // 2)
        modules.append(Module(name.strip(), int(own), int(cumulative), depth))
    if not modules:
        raise RuntimeError("no -X importtime lines in the output: is this CPython 3.7+?")
    return ImportProfile(sum(m.self_us for m in modules), tuple(modules))


def measure(
    argv: list[str], stdin: bytes, cwd: Path, env: dict[str, str], runs: int = 5
) -> ImportProfile:
    """Run ``argv`` (with ``-X importtime`` already in it) ``runs`` times; the median run."""
    profiles = []
    for _ in range(max(1, runs)):
        done = subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, env=env, check=False)
        profiles.append(parse(done.stderr.decode("utf-8", "replace")))
    middle = statistics.median_low([p.total_us for p in profiles])
    return next(p for p in profiles if p.total_us == middle)
