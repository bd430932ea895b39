"""Machine instructions per shell ``decide()``, counted by valgrind (docs/performance.md).

    .venv/bin/python bench/instructions.py              # 5 rounds over the bench's 34 commands
    .venv/bin/python bench/instructions.py --rounds 20

Wall-clock figures on this VM move by up to 2x between minutes, so a before/after comparison of
a change to the decision path is made on instructions instead: the same calls as the
``decide()`` series of ``make bench`` (unique strings, parse cache emptied before each call),
run twice under ``valgrind --tool=callgrind``, once with no rounds and once with ``--rounds``;
the difference divided by the number of decisions is what one decision costs, start-up and
imports excluded. Hash randomisation is fixed (``PYTHONHASHSEED=0``) and the start-up objects
are frozen out of the garbage collector, so two runs agree to a few hundred instructions.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def collected(stderr: str) -> int:
    """The instruction count callgrind prints at exit."""
    found = _COLLECTED.findall(stderr)
    if not found:
        raise RuntimeError(f"valgrind printed no instruction count: {stderr[-500:]}")
    return int(found[-1])


def child(rounds: int) -> None:
    """Decide ``rounds`` passes over the bench's commands in this process (under valgrind)."""
    sys.path.insert(0, str(HERE))
    from decide_times import COMMANDS, _parse_cache_clear, unique

    from interlock.actions import ShellAction
    from interlock.config import load_policy
    from interlock.engine import decide

    with tempfile.TemporaryDirectory(prefix="interlock-instructions-") as root:
        (Path(root) / ".git").mkdir()
        policy = load_policy(root)
        clear = _parse_cache_clear()
        for warm in range(3):  # imports, parser, catalog blocks: not what is counted
            for command in COMMANDS:
                decide(ShellAction(command=unique(command, -1 - warm), cwd=root), policy)
        gc.collect()
        gc.freeze()
        for number in range(rounds):
            for command in COMMANDS:
                if clear is not None:
                    clear()
                decide(ShellAction(command=unique(command, number), cwd=root), policy)


def count(python: str, rounds: int) -> int:
    """Instructions of a whole child run with ``rounds`` rounds."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    argv += [python, str(Path(__file__).resolve()), "--child", str(rounds)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the counted run failed: {done.stderr[-800:]}")
    return collected(done.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="passes over the commands")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to count")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(args.child)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: nothing counted", file=sys.stderr)
        return 1
    sys.path.insert(0, str(HERE))
    from decide_times import COMMANDS

    base, full = count(args.python, 0), count(args.python, args.rounds)
    decisions = args.rounds * len(COMMANDS)
    print(
        f"{(full - base) / decisions:,.0f} instructions per shell decision "
        f"({args.rounds} rounds over {len(COMMANDS)} commands, unique strings; valgrind)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
