"""Summaries and targets shared by the benchmarks (issue #2 item 9).

Targets are *reported*, never enforced: a timing assertion in a test fails on a busy CI
machine and teaches people to ignore red builds. So every figure is printed next to a
baseline measured in the same run, on the same machine, and judged PASS or FAIL here.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Summary:
    """Median and p99 of one series of timings, in nanoseconds."""

    name: str
    count: int
    median_ns: float
    p99_ns: float
    min_ns: float
    max_ns: float

    @classmethod
    def of(cls, name: str, samples_ns: Sequence[int]) -> Summary:
        if not samples_ns:
            raise ValueError(f"{name}: no samples")
        ordered = sorted(samples_ns)
        return cls(
            name=name,
            count=len(ordered),
            median_ns=float(statistics.median(ordered)),
            p99_ns=percentile(ordered, 99),
            min_ns=float(ordered[0]),
            max_ns=float(ordered[-1]),
        )

    def as_dict(self, unit: str) -> dict[str, Any]:
        scale = UNITS[unit]
        return {
            "name": self.name,
            "count": self.count,
            "unit": unit,
            "median": round(self.median_ns / scale, 3),
            "p99": round(self.p99_ns / scale, 3),
            "min": round(self.min_ns / scale, 3),
            "max": round(self.max_ns / scale, 3),
        }


UNITS: dict[str, float] = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def percentile(ordered: Sequence[int], q: float) -> float:
    """The q-th percentile by linear interpolation between closest ranks (numpy's default).

    With 200 samples p99 sits between the 198th and 199th value, so one outlier (a page
    fault, the machine's cron) cannot by itself make it.
    """
    if not ordered:
        raise ValueError("no samples")
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Target:
    """One target of issue #2 item 9, judged against a figure from this run."""

    name: str
    goal: str
    """How the target reads, e.g. "median - bare median <= 20 ms"."""
    measured: str
    baseline: str
    passed: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "goal": self.goal,
            "measured": self.measured,
            "baseline": self.baseline,
            "status": self.status,
            "notes": list(self.notes),
        }


def fmt(value_ns: float, unit: str) -> str:
    """A duration for the table: 3 significant figures in the given unit."""
    value = value_ns / UNITS[unit]
    shown = f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    return f"{shown} {'µs' if unit == 'us' else unit}"
