"""bench/instructions.py: the counted run works and its output is read right (no valgrind here:
counting takes ~20 s; the figures are in docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "instructions.py"
sys.path.insert(0, str(SCRIPT.parent))

import instructions  # noqa: E402


def test_the_counted_child_decides_every_command() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--child", "1"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_reads_the_last_count_callgrind_prints() -> None:
    stderr = "==1== Events    : Ir\n==1== Collected : 1234\n==1==\n==1== I   refs:      1,234\n"
    assert instructions.collected(stderr) == 1234
    with pytest.raises(RuntimeError, match="no instruction count"):
        instructions.collected("valgrind: command not found")
