"""``--profile``: cProfile of one hook process and of the uncached decisions (issue #2 item 9).

Used when a target is missed, to say where the time goes rather than guess. The standard
library's cProfile only: the project adds no dependency for its benchmarks. cProfile's own
overhead inflates many small calls, so read the *shape* (which functions dominate), and take
the figures from the timed runs.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import subprocess
import tempfile
from pathlib import Path


def hook_process(python: str, stdin: bytes, cwd: Path, env: dict[str, str], top: int = 25) -> str:
    """cProfile of ``python -m interlock.hooks claude-code``, sorted by cumulative time."""
    with tempfile.TemporaryDirectory(prefix="interlock-profile-") as folder:
        out = Path(folder) / "hook.prof"
        argv = [python, "-m", "cProfile", "-o", str(out), "-m", "interlock.hooks", "claude-code"]
        subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, env=env, check=False)
        if not out.exists():
            return "(cProfile wrote no profile)"
        return _stats(pstats.Stats(str(out), stream=io.StringIO()), "cumulative", top)


def decisions(project_root: str, commands: tuple[str, ...], rounds: int, top: int = 25) -> str:
    """cProfile of ``rounds`` uncached passes over the benchmark's commands, by own time."""
    from decide_times import _parse_cache_clear, unique

    from interlock.actions import ShellAction
    from interlock.config import load_policy
    from interlock.engine import decide

    policy = load_policy(project_root)
    clear = _parse_cache_clear()
    for command in commands:  # warm-up outside the profile: imports, parser, catalogs
        decide(ShellAction(command=command, cwd=project_root), policy)
    profiler = cProfile.Profile()
    profiler.enable()
    for r in range(rounds):
        for command in commands:
            if clear is not None:
                clear()
            decide(ShellAction(command=unique(command, r), cwd=project_root), policy)
    profiler.disable()
    return _stats(pstats.Stats(profiler, stream=io.StringIO()), "tottime", top)


def _stats(stats: pstats.Stats, key: str, top: int) -> str:
    buffer = io.StringIO()
    stats.stream = buffer  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats(key).print_stats(top)
    return buffer.getvalue()
