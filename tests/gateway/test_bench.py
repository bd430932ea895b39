"""bench/gateway.py runs end to end on tiny numbers and leaves nothing running (issue 6 item 8).

No timing is asserted (bench/gateway.py judges the targets; a timed assertion fails on a busy
machine). What is asserted holds at any speed: every call through the gateway got the same
answer the upstream gave directly, every target row has a status, the resolver looked each
volume up once, and no upstream or server process is left behind.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "gateway.py"


def _running(marker: str) -> list[str]:
    found = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [line for line in found.stdout.splitlines() if marker in line]


def test_the_gateway_bench_runs_and_cleans_up() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--requests",
            "40",
            "--rounds",
            "1",
            "--rate",
            "100",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["problems"] == []
    assert {row["kind"] for row in report["targets"]} == {"rest", "graphql"}
    for row in report["targets"]:
        assert row["p50"] in ("PASS", "FAIL") and row["p99"] in ("PASS", "FAIL")
        assert row["direct"]["count"] == row["gateway"]["count"] == 40
    resolver = report["resolver"]
    assert resolver["requests"] == 40 and resolver["looked_up"] == 20
    assert resolver["hit_rate"] == 0.5
    assert _running("interlock-gateway-bench-") == []  # interlock serve
    assert _running("gateway_upstream.py") == []
