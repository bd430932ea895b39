"""bench/approvals.py runs end to end on tiny numbers and leaves nothing behind (issue 5 item 10).

No timing is asserted (a timed assertion fails on a busy machine and teaches people to ignore
red builds; `bench/approvals.py` judges the targets). What is asserted is what the bench
promises regardless of speed: every request got the answer the protocol says (dedupe, single
use), every target row has a status, and the server process, the temp folder and the scratch
PostgreSQL database are gone afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "approvals.py"
TINY = ["--requests", "24", "--concurrency", "4", "--trips", "1", "--json"]
SMALL = ["--requests", "8", "--concurrency", "2", "--trips", "1"]
SERIES = ("health", "file", "card", "vote", "status", "consume")


def bench(*extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH), *TINY, *extra],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


@pytest.fixture(scope="module")
def sqlite_run() -> dict[str, Any]:
    return bench()


def test_every_series_ran_and_every_answer_was_the_expected_one(sqlite_run: dict[str, Any]) -> None:
    """Both phases: at capacity and paced (open loop), each request answered as the protocol says."""
    assert set(sqlite_run["series"]) == {"capacity", "paced"}
    for phase, series in sqlite_run["series"].items():
        assert set(series) == set(SERIES), phase
        assert series["file"]["count"] == 24
        # half the filings are repeats: 12 distinct requests, each read, approved, consumed once
        for name in ("card", "vote", "consume"):
            assert series[name]["count"] == 12, (phase, name)
        for name, s in series.items():
            assert s["problem_count"] == 0, (phase, name, s["problems"])
            assert s["per_second"] > 0 and s["median"] > 0


def test_each_target_has_a_status_next_to_the_health_baseline(sqlite_run: dict[str, Any]) -> None:
    targets = sqlite_run["targets"]
    kinds = [t["name"].split(":")[0].split(" (")[0] for t in targets]
    assert kinds == ["decision"] * 2 + ["approval"] * 2 + ["round trip"] * 2
    for target in targets:
        assert target["status"] in ("PASS", "FAIL")
        assert target["baseline"].startswith(("/health ", "hook alone"))


def test_the_round_trip_ran_with_the_real_hook(sqlite_run: dict[str, Any]) -> None:
    """Held, shown, approved, passed: a round with any other answer is a problem."""
    trip = sqlite_run["trip"]
    for way in ("retry", "held"):
        assert trip[way]["problems"] == [], trip[way]
        assert trip[way]["total_ms"]["median"] > 0
    assert "the retried hook call passes" in trip["retry"]["steps"]


def test_the_server_and_the_temp_folder_are_gone(sqlite_run: dict[str, Any]) -> None:
    cleanup = sqlite_run["cleanup"]
    assert cleanup["server_stopped"] is True
    assert not Path(f"/proc/{cleanup['server_pid']}").exists()
    assert not Path(cleanup["folder"]).exists()


def test_the_table_says_the_generator_shares_the_cores() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), *SMALL, "--profile"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "shares the machine's cores" in done.stdout
    assert "cProfile: file" in done.stdout
    rows = [x for x in done.stdout.splitlines() if ">= 200/s; p99 < 50 ms at 200/s" in x]
    rows += [x for x in done.stdout.splitlines() if "median < 1000 ms" in x]
    assert len(rows) == 6, done.stdout
    assert all(row.rstrip().endswith(("PASS", "FAIL")) for row in rows), rows


def test_on_postgresql_the_scratch_database_is_dropped() -> None:
    url = "postgresql://postgres@127.0.0.1:5432"
    report = bench("--postgres", "--postgres-url", url)
    assert report["database"].startswith("PostgreSQL")
    for series in report["series"].values():
        assert all(s["problem_count"] == 0 for s in series.values())
    assert report["cleanup"]["database_dropped"] is True
    name = report["cleanup"]["database"]
    assert name.startswith("interlock_bench_")
    with psycopg.connect(f"{url}/postgres") as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert left is None
