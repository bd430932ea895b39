"""``make bench``: Interlock's speed targets, measured next to a baseline (issue #2 item 9).

    .venv/bin/python bench/run.py                 # the full run (about a minute on 2 cores)
    .venv/bin/python bench/run.py --json          # the same figures as one JSON object
    .venv/bin/python bench/run.py --profile       # plus cProfile of a hook call and decide()
    .venv/bin/python bench/run.py --calls 5 --agent-calls 2 --rounds 2 --importtime-runs 1

Targets are reported, never enforced: the exit status is 0 whether they pass or not, and
non-zero only when the benchmark itself broke (a probe crashed, a temp folder failed). What
is measured and why is in docs/performance.md.

Everything runs from a throwaway project (a temp folder with ``.git``) with the audit log
pointed into it (INTERLOCK_AUDIT_LOG), so the audit write is timed but the repo stays clean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import breakdown
import decide_times
import hook_calls
import importtime
import profiling
from report import Results, as_dict, table


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200, help="hook calls per Claude Code case")
    parser.add_argument(
        "--agent-calls", type=int, default=50, help="calls for each other agent / file case"
    )
    parser.add_argument(
        "--rounds", type=int, default=100, help="passes over the commands for decide()"
    )
    parser.add_argument("--importtime-runs", type=int, default=5, help="-X importtime runs")
    parser.add_argument(
        "--ladder-calls", type=int, default=40, help="calls per step of the cost ladder"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter of the venv")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--profile", action="store_true", help="also print cProfile output")
    args = parser.parse_args(argv)
    for name in ("calls", "agent_calls", "rounds", "importtime_runs", "ladder_calls"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def measure(args: argparse.Namespace, root: Path, progress: bool) -> tuple[Results, str]:
    folder = hook_calls.project(root)
    env = hook_calls.environment(root)
    python = args.python

    def say(text: str) -> None:
        if progress:
            print(f"… {text}", file=sys.stderr, flush=True)

    say(f"hook process: 2 cases + bare interpreter, {args.calls} calls each, interleaved")
    bare, main = hook_calls.measure(
        python, hook_calls.main_cases(str(folder)), args.calls, folder, env
    )
    say(f"other agents and a credential read, {args.agent_calls} calls each")
    _, others = hook_calls.measure(
        python, hook_calls.other_cases(str(folder)), args.agent_calls, folder, env
    )
    destructive = hook_calls.claude_code(hook_calls.DESTRUCTIVE, str(folder))
    say(f"decide() in process, {args.rounds} rounds over {len(decide_times.COMMANDS)} commands")
    decided = decide_times.measure(str(folder), args.rounds)
    usable = [c for c in decide_times.COMMANDS if c in decided.verdicts]
    slowest = decide_times.per_command(str(folder), max(3, args.rounds // 2), usable)[:5]
    say("import time and phases of the hook process")
    imports = importtime.measure(
        [python, "-X", "importtime", "-m", "interlock.hooks", "claude-code"],
        destructive,
        folder,
        env,
        args.importtime_runs,
    )
    bare_imports = importtime.measure(
        [python, "-X", "importtime", "-c", "pass"], b"", folder, env, args.importtime_runs
    )
    phases = breakdown.measure(python, destructive, folder, env, args.importtime_runs)
    say(f"cost ladder: what each layer of imports adds, {args.ladder_calls} calls per step")
    ladder = breakdown.ladder(python, phases, destructive, args.ladder_calls, folder, env)
    results = Results(
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine={
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "cpus": os.cpu_count(),
            "interpreter": python,
        },
        bare=bare,
        main=main,
        others=others,
        decide=decided,
        slowest=slowest,
        imports=imports,
        bare_imports=bare_imports,
        phases=phases,
        ladder=ladder,
    )
    profile = ""
    if args.profile:
        say("cProfile of one hook process and of uncached decisions")
        profile = (
            "\ncProfile: python -m interlock.hooks claude-code (rm -rf ~), by cumulative time\n"
            + profiling.hook_process(python, destructive, folder, env)
            + "\ncProfile: decide() on unique strings, by own time\n"
            + profiling.decisions(str(folder), decide_times.COMMANDS, min(args.rounds, 20))
        )
    return results, profile


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="interlock-bench-") as tmp:
            results, profile = measure(args, Path(tmp), progress=not args.json)
    except Exception:
        # The benchmark itself broke: the only case for a non-zero exit.
        traceback.print_exc()
        return 1
    if args.json:
        body = as_dict(results)
        if profile:
            body["profile"] = profile
        print(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        print(table(results) + profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
