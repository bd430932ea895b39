"""The whole hook process per call, next to a bare interpreter (issue #2 item 9, first target).

What an agent waits for is a fresh ``<venv python> -m interlock.hooks <agent>`` process per
tool call: interpreter start, imports, parser set-up, the decision, the audit write and the
answer. So that is what is timed, with ``subprocess.run`` from here, fed the payload shapes the
real clients send (../shared/notes/realclients.md, "Observed hook payload"). The baseline is
``<same python> -c pass`` fed the same stdin the same way; the series are interleaved, in an
order that rotates every round, so machine noise lands on all of them alike.

Each case also states the answer it must get (exit status, and never a ``hook.*`` failure
rule): a hook that crashes early is fast and fails closed, and timing it would flatter us.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stats import Summary

# The runner's own failure rules (hooks/runner.py failure_result); any of them in the answer
# means the timing measured a failure path, not a decision.
FAILURE_RULES = ("[rule hook.error]", "[rule hook.input]", "[rule hook.config]", "hook.deadline")

BENIGN = "ls -la"
DESTRUCTIVE = "rm -rf ~"
CREDENTIAL_FILE = "~/.aws/credentials"


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


def claude_code(command: str, cwd: str) -> bytes:
    """A PreToolUse payload exactly as Claude Code 2.1.197 sends it for Bash."""
    return _json(
        {
            "session_id": "8d6c0e7b-bench-0000-0000-000000000000",
            "transcript_path": f"{cwd}/.claude/transcript.jsonl",
            "cwd": cwd,
            "prompt_id": "6e68288c-bench",
            "permission_mode": "default",
            "effort": {"level": "high"},
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": command, "description": "Run scripted command"},
            "tool_use_id": "toolu_794b_bench",
        }
    )


def claude_code_read(path: str, cwd: str) -> bytes:
    """Claude Code's Read tool on a file: how a credential file would be read (PocketOS)."""
    return _json(
        {
            "session_id": "8d6c0e7b-bench-0000-0000-000000000000",
            "transcript_path": f"{cwd}/.claude/transcript.jsonl",
            "cwd": cwd,
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Read",
            "tool_input": {"file_path": os.path.expanduser(path)},
            "tool_use_id": "toolu_read_bench",
        }
    )


def codex(command: str, cwd: str) -> bytes:
    """Codex 0.169.0's PreToolUse payload (realclients.md §2)."""
    return _json(
        {
            "session_id": "codex-bench",
            "turn_id": "turn-1",
            "transcript_path": None,
            "cwd": cwd,
            "hook_event_name": "PreToolUse",
            "model": "fake-model",
            "permission_mode": "bypassPermissions",
            "tool_name": "Bash",
            "tool_input": {"command": command},
            "tool_use_id": "call_bench",
        }
    )


def gemini(command: str, cwd: str) -> bytes:
    """Gemini CLI 0.61.0's BeforeTool payload (realclients.md §3)."""
    return _json(
        {
            "session_id": "gemini-bench",
            "transcript_path": f"{cwd}/.gemini/transcript.json",
            "cwd": cwd,
            "hook_event_name": "BeforeTool",
            "timestamp": "2026-11-22T10:00:00.000Z",
            "tool_name": "run_shell_command",
            "tool_input": {"command": command, "description": "Run scripted command"},
        }
    )


def cursor(command: str, cwd: str) -> bytes:
    """Cursor's beforeShellExecution payload (peers.md §c)."""
    return _json(
        {
            "hook_event_name": "beforeShellExecution",
            "conversation_id": "cursor-bench",
            "generation_id": "gen-1",
            "workspace_roots": [cwd],
            "command": command,
            "cwd": cwd,
        }
    )


def no_bytecode_case(cwd: str) -> Case:
    """The destructive call again, as it runs when the user's environment forbids bytecode.

    Agents pass their environment on to hooks; with PYTHONDONTWRITEBYTECODE=1 set and no
    ``__pycache__`` yet, every Interlock module is compiled from source on every call.
    """
    return Case(
        "claude-code rm -rf ~, no bytecode cache",
        "claude-code",
        claude_code(DESTRUCTIVE, cwd),
        2,
        no_bytecode=True,
    )


def main_cases(cwd: str) -> list[Case]:
    """The two cases the target is judged on (Claude Code, at ``--calls``)."""
    return [
        Case("claude-code ls -la", "claude-code", claude_code(BENIGN, cwd), 0),
        Case("claude-code rm -rf ~", "claude-code", claude_code(DESTRUCTIVE, cwd), 2),
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


def measure(
    python: str,
    cases: Sequence[Case],
    calls: int,
    cwd: Path,
    env: dict[str, str],
) -> tuple[Summary, list[CaseResult]]:
    """Time ``calls`` runs of the bare interpreter and of each case, interleaved."""
    stdin = cases[0].stdin if cases else b"{}"
    runs: list[Run] = [([python, "-c", "pass"], stdin, env)]
    runs += [
        ([python, "-m", "interlock.hooks", case.agent], case.stdin, case_env(case, env))
        for case in cases
    ]
    problems: list[list[str]] = [[] for _ in cases]

    def seen(slot: int, done: subprocess.CompletedProcess[bytes]) -> None:
        if slot == 0:
            return
        problem = check(cases[slot - 1], done)
        if problem and len(problems[slot - 1]) < 3 and problem not in problems[slot - 1]:
            problems[slot - 1].append(problem)

    series = interleave(runs, calls, cwd, seen)
    bare = Summary.of(f"{Path(python).name} -c pass", series[0])
    results = [
        CaseResult(case, Summary.of(case.name, series[i + 1]), tuple(problems[i]))
        for i, case in enumerate(cases)
    ]
    return bare, results


def interleave(
    runs: Sequence[Run],
    calls: int,
    cwd: Path,
    seen: Callable[[int, subprocess.CompletedProcess[bytes]], None] | None = None,
) -> list[list[int]]:
    """Wall time of ``calls`` runs of each process, in an order that rotates every round.

    One untimed run of each comes first: bytecode gets written, the page cache gets warm.
    """
    for argv, stdin, env in runs:
        _timed(argv, stdin, cwd, env)
    series: list[list[int]] = [[] for _ in runs]
    order = list(range(len(runs)))
    for round_no in range(calls):
        shift = round_no % len(order)
        for slot in order[shift:] + order[:shift]:
            argv, stdin, env = runs[slot]
            elapsed, done = _timed(argv, stdin, cwd, env)
            series[slot].append(elapsed)
            if seen is not None:
                seen(slot, done)
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


def _json(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")
