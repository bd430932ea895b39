"""``make bench``: Interlock's speed targets, measured next to a baseline (issue #2 item 9).

    .venv/bin/python bench/run.py                 # the full run (about 1.5 minutes on 2 cores)
    .venv/bin/python bench/run.py --json          # the same figures as one JSON object
    .venv/bin/python bench/run.py --profile       # plus cProfile of a hook call and decide()
    .venv/bin/python bench/run.py --calls 5 --agent-calls 2 --cold-calls 2 --rounds 2 \
        --kind-rounds 2 --fresh-runs 1 --importtime-runs 1 --ladder-calls 2

Targets are reported, never enforced: the exit status is 0 whether they pass or not, and
non-zero only when the benchmark itself broke (a probe crashed, a temp folder failed). What
is measured and why is in docs/performance.md.

Everything runs from a throwaway project (a temp folder with ``.git``) with the audit log
pointed into it (INTERLOCK_AUDIT_LOG), so the audit write is timed but the repo stays clean.
The hook's daemon gets a private INTERLOCK_RUNTIME_DIR in the same folder; the bench stops
every daemon it started before it exits, whatever happened (warm_daemon.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
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
import kind_times
import profiling
import warm_daemon
from payloads import DESTRUCTIVE, claude_code
from render import table
from report import DaemonRun, Results, as_dict
from warm_daemon import Stopped


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=200, help="hook calls per Claude Code case")
    parser.add_argument(
        "--agent-calls", type=int, default=50, help="calls for each other agent / file case"
    )
    parser.add_argument(
        "--cold-calls", type=int, default=50, help="calls per case with INTERLOCK_DAEMON=0"
    )
    parser.add_argument(
        "--rounds", type=int, default=100, help="passes over the commands for decide()"
    )
    parser.add_argument(
        "--kind-rounds", type=int, default=100, help="passes over SQL/HTTP/plan actions"
    )
    parser.add_argument(
        "--fresh-runs", type=int, default=10, help="fresh interpreters per first-SQL figure"
    )
    parser.add_argument("--importtime-runs", type=int, default=5, help="-X importtime runs")
    parser.add_argument(
        "--ladder-calls", type=int, default=40, help="calls per step of the cost ladder"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter of the venv")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--profile", action="store_true", help="also print cProfile output")
    args = parser.parse_args(argv)
    for name in (
        "calls",
        "agent_calls",
        "cold_calls",
        "rounds",
        "kind_rounds",
        "fresh_runs",
        "importtime_runs",
        "ladder_calls",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def measure(args: argparse.Namespace, root: Path, progress: bool) -> tuple[Results, str]:
    folder = hook_calls.project(root)
    env = hook_calls.environment(root)
    runtime = warm_daemon.runtime_dir(root)
    warm_env = warm_daemon.environment(env, runtime, enabled=True)
    cold_env = warm_daemon.environment(env, runtime, enabled=False)
    python = args.python
    destructive = claude_code(DESTRUCTIVE, str(folder))

    def say(text: str) -> None:
        if progress:
            print(f"… {text}", file=sys.stderr, flush=True)

    try:
        say("first hook call of a session: no daemon yet, it starts one")
        started = warm_daemon.start(python, "claude-code", destructive, folder, warm_env)
        first_problem = hook_calls.check(hook_calls.main_cases(str(folder))[1], started.first_call)
        say(f"daemon socket {started.socket}")

        def watch() -> int | None:
            return warm_daemon.inode(started.socket)

        say(f"daemon warm: 2 cases + bare interpreter, {args.calls} calls each, interleaved")
        warm = hook_calls.measure(
            "Hook process per call, daemon warm (the targets; interleaved with bare python)",
            python,
            hook_calls.main_cases(str(folder)),
            args.calls,
            folder,
            warm_env,
            watch,
        )
        say(f"daemon warm: other agents and a credential read, {args.agent_calls} calls each")
        others = hook_calls.measure(
            "Other hook calls, daemon warm (informational)",
            python,
            hook_calls.other_cases(str(folder)),
            args.agent_calls,
            folder,
            warm_env,
            watch,
        )
        say("import time of the fast path")
        imports = importtime.measure(
            [python, "-X", "importtime", "-m", "interlock.hooks", "claude-code"],
            destructive,
            folder,
            warm_env,
            args.importtime_runs,
        )
        say(f"fast path, layer by layer, {args.ladder_calls} calls per step")
        expected = hook_calls.main_cases(str(folder))[1]
        ladder_notes: list[str] = []

        def ladder_seen(slot: int, done: subprocess.CompletedProcess[bytes], steady: bool) -> None:
            if slot < 4:
                return
            problem = hook_calls.check(expected, done) or ("" if steady else "no warm daemon")
            if problem and len(ladder_notes) < 3 and problem not in ladder_notes:
                ladder_notes.append(problem)

        fast_ladder = breakdown.fast_ladder(
            python, destructive, args.ladder_calls, folder, warm_env, ladder_seen, watch
        )
        say("stopping the daemon")
        stopped = warm_daemon.stop(runtime)

        say(f"INTERLOCK_DAEMON=0: in-process decision every call, {args.cold_calls} calls each")
        cold = hook_calls.measure(
            "Hook process per call, INTERLOCK_DAEMON=0 (in-process every call, informational)",
            python,
            hook_calls.cold_cases(str(folder)),
            args.cold_calls,
            folder,
            cold_env,
        )
        say(f"decide() in process, {args.rounds} rounds over {len(decide_times.COMMANDS)} commands")
        decided = decide_times.measure(str(folder), args.rounds)
        usable = [c for c in decide_times.COMMANDS if c in decided.verdicts]
        slowest = decide_times.per_command(str(folder), max(3, args.rounds // 2), usable)[:5]
        say(f"decide() per kind of action, {args.kind_rounds} rounds; first SQL in fresh processes")
        kinds = kind_times.measure(str(folder), args.kind_rounds, python, args.fresh_runs)
        say("import time and phases of the in-process hook")
        cold_imports = importtime.measure(
            [python, "-X", "importtime", "-m", "interlock.hooks", "claude-code"],
            destructive,
            folder,
            cold_env,
            args.importtime_runs,
        )
        bare_imports = importtime.measure(
            [python, "-X", "importtime", "-c", "pass"], b"", folder, env, args.importtime_runs
        )
        phases = breakdown.measure(python, destructive, folder, cold_env, args.importtime_runs)
        say(f"cost ladder: what each layer of imports adds, {args.ladder_calls} calls per step")
        ladder = breakdown.ladder(python, phases, destructive, args.ladder_calls, folder, cold_env)
        profile = ""
        if args.profile:
            say("cProfile of one in-process hook call and of uncached decisions")
            profile = (
                "\ncProfile: python -m interlock.hooks claude-code (rm -rf ~), "
                "INTERLOCK_DAEMON=0, by cumulative time\n"
                + profiling.hook_process(python, destructive, folder, cold_env)
                + "\ncProfile: decide() on unique strings, by own time\n"
                + profiling.decisions(str(folder), decide_times.COMMANDS, min(args.rounds, 20))
            )
    finally:
        # Whatever broke above, no daemon outlives the bench (it would hold the temp folder).
        final = warm_daemon.stop(runtime)
    daemon = DaemonRun(
        socket=started.socket,
        first_call_ns=started.first_call_ns,
        first_call_problem=first_problem,
        ready_after_ns=started.ready_after_ns,
        stopped=Stopped(tuple(sorted(set(stopped.pids + final.pids))), final.left),
    )
    results = Results(
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine={
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "cpus": os.cpu_count(),
            "interpreter": python,
        },
        warm=warm,
        others=others,
        cold=cold,
        daemon=daemon,
        decide=decided,
        slowest=slowest,
        kinds=kinds,
        imports=imports,
        cold_imports=cold_imports,
        bare_imports=bare_imports,
        phases=phases,
        ladder=ladder,
        fast_ladder=fast_ladder,
        fast_ladder_notes=tuple(ladder_notes),
    )
    say(f"daemon stopped: {', '.join(map(str, daemon.stopped.pids)) or 'none found'}")
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
