"""The whole hook process per call, next to a bare interpreter (issue #2 item 9, first target).

What an agent waits for is a fresh ``<venv python> -m interlock.hooks <agent>`` process per
tool call. With the daemon warm (the steady state, and what the target is judged on) that is
interpreter start, the client's few imports and one round trip over a Unix socket; with
``INTERLOCK_DAEMON=0`` (and on the first call of a session) it is the whole in-process
decision: imports, parser set-up, the decision, the audit write and the answer. Both are timed
with ``subprocess.run`` from here, fed the payload shapes the real clients send
(payloads.py). The baseline is ``<same python> -c pass`` fed the same stdin the same way; the
series are interleaved, in an order that rotates every round, so machine noise lands on all of
them alike.

Each case also states the answer it must get (exit status, and never a ``hook.*`` failure
rule): a hook that crashes early is fast and fails closed, and timing it would flatter us.
With the daemon on, the socket is watched around each call (warm_daemon.inode) so calls that
did not find it warm are counted, not silently mixed in.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from payloads import (
    BENIGN,
    CREDENTIAL_FILE,
    DESTRUCTIVE,
    claude_code,
    claude_code_read,
    codex,
    cursor,
    gemini,
)
from stats import Summary

# The runner's own failure rules (hooks/runner.py failure_result); any of them in the answer
# means the timing measured a failure path, not a decision.
FAILURE_RULES = ("[rule hook.error]", "[rule hook.input]", "[rule hook.config]", "hook.deadline")
COLD = ", INTERLOCK_DAEMON=0"


@dataclass(frozen=True)
class Case:
    """One hook invocation to time: the agent argument, its stdin and the expected exit."""

    name: str
    agent: str
    stdin: bytes
    expect_exit: int
    expect_text: str = ""
    """Text the answer (stdout + stderr) must contain, e.g. the JSON key of a Cursor deny."""
    no_bytecode: bool = False
    """Run with PYTHONDONTWRITEBYTECODE=1 and no cache: every module compiled on every call."""


@dataclass(frozen=True)
class CaseResult:
    case: Case
    summary: Summary
    problems: tuple[str, ...]
    """Why the answers were not the expected ones; empty when every call answered right."""
    missed: int = 0
    """Calls that found no warm daemon (or saw it restart) and so decided in-process."""


@dataclass(frozen=True)
class Group:
    """Cases timed together, interleaved with their own bare-interpreter series."""

    title: str
    bare: Summary
    cases: tuple[CaseResult, ...]


def no_bytecode_case(cwd: str, suffix: str = "") -> Case:
    """The destructive call again, as it runs when the user's environment forbids bytecode.

    Agents pass their environment on to hooks; with PYTHONDONTWRITEBYTECODE=1 set and no
    ``__pycache__`` yet, every module the hook process imports is compiled on every call.
    """
    return Case(
        "claude-code rm -rf ~, no bytecode cache" + suffix,
        "claude-code",
        claude_code(DESTRUCTIVE, cwd),
        2,
        no_bytecode=True,
    )


def main_cases(cwd: str, suffix: str = "") -> list[Case]:
    """The two cases the target is judged on (Claude Code, at ``--calls``, daemon warm)."""
    return [
        Case("claude-code ls -la" + suffix, "claude-code", claude_code(BENIGN, cwd), 0),
        Case("claude-code rm -rf ~" + suffix, "claude-code", claude_code(DESTRUCTIVE, cwd), 2),
    ]


def other_cases(cwd: str) -> list[Case]:
    """The other agents and a credential read, once each at ``--agent-calls``."""
    return [
        # A credential read is an ask: Claude Code gets exit 0 and permissionDecision "ask".
        Case(
            "claude-code Read ~/.aws/credentials",
            "claude-code",
            claude_code_read(CREDENTIAL_FILE, cwd),
            0,
            '"ask"',
        ),
        Case("codex rm -rf ~", "codex", codex(DESTRUCTIVE, cwd), 2),
        Case("gemini rm -rf ~", "gemini", gemini(DESTRUCTIVE, cwd), 2),
        Case("cursor rm -rf ~", "cursor", cursor(DESTRUCTIVE, cwd), 2, '"permission"'),
        no_bytecode_case(cwd),
    ]


def cold_cases(cwd: str) -> list[Case]:
    """The in-process path every call (``--cold-calls``): the first call of every session."""
    return [*main_cases(cwd, COLD), no_bytecode_case(cwd, COLD)]


def project(root: Path) -> Path:
    """A throwaway project: a folder with ``.git`` (the hook finds its project root by it)."""
    folder = root / "project"
    (folder / ".git").mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("bench project\n", encoding="utf-8")
    return folder


def environment(root: Path) -> dict[str, str]:
    """The caller's environment, with the audit log and bytecode cache in the temp folder.

    The audit write is part of a real call, so it stays in; only its location moves.
    INTERLOCK_CONFIG is dropped so a developer's override cannot change what is measured.
    Bytecode is cached (PYTHONPYCACHEPREFIX, so nothing is written into the repo), as it is
    in a normal install; PYTHONDONTWRITEBYTECODE would make every call compile every module
    and is measured apart (:func:`no_bytecode_case`).
    """
    drop = ("INTERLOCK_CONFIG", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["INTERLOCK_AUDIT_LOG"] = str(root / "audit.jsonl")
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    return env


def case_env(case: Case, env: dict[str, str]) -> dict[str, str]:
    if not case.no_bytecode:
        return env
    cold = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}
    cold["PYTHONDONTWRITEBYTECODE"] = "1"
    # An empty prefix folder: no cached bytecode to read, and none gets written.
    cold["PYTHONPYCACHEPREFIX"] = env["PYTHONPYCACHEPREFIX"] + "-empty"
    return cold


Run = tuple[list[str], bytes, dict[str, str]]
"""argv, stdin and environment of one process to time."""

Watch = Callable[[], object]
"""Identity of the warm daemon right now (the socket's inode), None when there is none."""


def measure(
    title: str,
    python: str,
    cases: Sequence[Case],
    calls: int,
    cwd: Path,
    env: dict[str, str],
    watch: Watch | None = None,
) -> Group:
    """Time ``calls`` runs of the bare interpreter and of each case, interleaved."""
    stdin = cases[0].stdin if cases else b"{}"
    runs: list[Run] = [([python, "-c", "pass"], stdin, env)]
    runs += [
        ([python, "-m", "interlock.hooks", case.agent], case.stdin, case_env(case, env))
        for case in cases
    ]
    problems: list[list[str]] = [[] for _ in cases]
    missed = [0 for _ in cases]

    def seen(slot: int, done: subprocess.CompletedProcess[bytes], steady: bool) -> None:
        if slot == 0:
            return
        missed[slot - 1] += not steady
        problem = check(cases[slot - 1], done)
        if problem and len(problems[slot - 1]) < 3 and problem not in problems[slot - 1]:
            problems[slot - 1].append(problem)

    series = interleave(runs, calls, cwd, seen, watch)
    results = tuple(
        CaseResult(case, Summary.of(case.name, series[i + 1]), tuple(problems[i]), missed[i])
        for i, case in enumerate(cases)
    )
    return Group(title, Summary.of(f"{Path(python).name} -c pass", series[0]), results)


def interleave(
    runs: Sequence[Run],
    calls: int,
    cwd: Path,
    seen: Callable[[int, subprocess.CompletedProcess[bytes], bool], None] | None = None,
    watch: Watch | None = None,
) -> list[list[int]]:
    """Wall time of ``calls`` runs of each process, in an order that rotates every round.

    One untimed run of each comes first: bytecode gets written, the page cache gets warm.
    ``watch`` is read before and after each call, outside the timing: a call is *steady* when
    the daemon was there and the same throughout.
    """
    for argv, stdin, env in runs:
        _timed(argv, stdin, cwd, env)
    series: list[list[int]] = [[] for _ in runs]
    order = list(range(len(runs)))
    for round_no in range(calls):
        shift = round_no % len(order)
        for slot in order[shift:] + order[:shift]:
            argv, stdin, env = runs[slot]
            before = watch() if watch is not None else True
            elapsed, done = _timed(argv, stdin, cwd, env)
            after = watch() if watch is not None else True
            series[slot].append(elapsed)
            if seen is not None:
                seen(slot, done, before is not None and before == after)
    return series


def check(case: Case, done: subprocess.CompletedProcess[bytes]) -> str:
    """Why this answer is not the one the case expects; empty when it is."""
    text = (done.stdout + done.stderr).decode("utf-8", "replace")
    if done.returncode != case.expect_exit:
        return f"exit {done.returncode}, expected {case.expect_exit}: {_first_line(text)}"
    failed = next((rule for rule in FAILURE_RULES if rule in text), None)
    if failed:
        return f"the hook failed instead of deciding ({failed}): {_first_line(text)}"
    if case.expect_text and case.expect_text not in text:
        return f"answer lacks {case.expect_text}: {_first_line(text)}"
    return ""


def _timed(
    argv: list[str], stdin: bytes, cwd: Path, env: dict[str, str]
) -> tuple[int, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter_ns()
    done = subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, env=env, check=False)
    return time.perf_counter_ns() - start, done


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "(no output)"
    return line[:240]
