"""The scripted agent: fixed steps, no model, run the way a coding agent runs them.

Each step is one ``Bash`` tool call. Without Interlock the command goes straight to ``bash``.
With Interlock it first goes to the real PreToolUse hook, exactly as Claude Code calls it
(``python -m interlock.hooks claude-code`` with the JSON payload on stdin, the answer read from
the exit status, stdout and stderr), and runs only if the hook allows it. Nothing in Interlock
is called in-process or patched: what the timeline shows is what an agent would meet.

The steps themselves live in the scenarios (:mod:`.pocketos`, :mod:`.datatalks`); this module
is the agent's body: its shell, its environment, and the hook between the two.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

STEP_TIMEOUT = 30.0
HOOK_TIMEOUT = 30.0


@dataclass(frozen=True)
class Output:
    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class HookAnswer:
    """What the hook told the agent, as Claude Code reads it."""

    verdict: str
    """``allow``, ``ask`` or ``deny``."""
    message: str
    rule: str
    request_id: str | None = None

    @property
    def allowed(self) -> bool:
        return self.verdict == "allow"


@dataclass(frozen=True)
class Outcome:
    command: str
    hook: HookAnswer | None
    """None when no hook stood in the way (the run without Interlock, or a script)."""
    output: Output | None
    """None when the hook stopped the command."""

    @property
    def ran(self) -> bool:
        return self.output is not None


def base_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: this machine's PATH and locale, a scratch HOME, nothing of ours.

    Interlock's own variables (INTERLOCK_SERVER, INTERLOCK_HOME …) are left out on purpose: a
    developer's settings must not change what the replay shows.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "CURL_HOME": str(home),
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra or {})
    return env


def run_shell(command: str, cwd: Path, env: dict[str, str]) -> Output:
    """``bash -c command``, as the agent's Bash tool runs it."""
    try:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Output(124, "", f"timed out after {STEP_TIMEOUT:g} s")
    return Output(done.returncode, done.stdout, done.stderr)


class Hook:
    """Interlock's Claude Code hook, run as its own process for every tool call."""

    def __init__(self, project: Path, env: dict[str, str], session: str) -> None:
        self.project = project
        self.env = {**env, "INTERLOCK_DAEMON": "0"}
        self.session = session

    def ask(self, command: str, cwd: Path) -> HookAnswer:
        payload = {
            "session_id": self.session,
            "transcript_path": str(self.project / ".transcript.jsonl"),
            "cwd": str(cwd),
            "permission_mode": "default",
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": {"command": command, "description": "replay step"},
        }
        seen = self._audit_size()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "interlock.hooks", "claude-code"],
                input=json.dumps(payload),
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=HOOK_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return HookAnswer("error", f"the hook did not answer within {HOOK_TIMEOUT:g} s", "")
        rule = self._rule_since(seen)
        return read_answer(done.returncode, done.stdout, done.stderr, rule)

    def _audit_path(self) -> Path:
        return self.project / ".interlock" / "audit.jsonl"

    def _audit_size(self) -> int:
        try:
            return self._audit_path().stat().st_size
        except OSError:
            return 0

    def _rule_since(self, offset: int) -> str:
        """The rule of the strictest decision the hook just wrote to the audit log."""
        try:
            with self._audit_path().open("rb") as fh:
                fh.seek(offset)
                records = [json.loads(line) for line in fh.read().splitlines() if line.strip()]
        except (OSError, ValueError):
            return ""
        order = {"deny": 0, "ask": 1, "allow": 2}
        records.sort(key=lambda r: order.get(str(r.get("decision")), 3))
        return str(records[0].get("rule", "")) if records else ""


_REQUEST = re.compile(r"\breq_[A-Za-z0-9_-]{6,}")


def read_answer(code: int, stdout: str, stderr: str, rule: str = "") -> HookAnswer:
    """Claude Code's reading of a PreToolUse hook: exit 2 blocks (reason on stderr); exit 0
    with ``permissionDecision: ask`` asks the person; exit 0 and nothing else allows; any other
    exit status is an error Claude Code ignores (the call runs), shown here as such."""
    if code == 2:
        text = " ".join(stderr.split())
        found = _REQUEST.search(text)
        return HookAnswer("deny", text, rule, found.group(0) if found else None)
    if code == 0 and stdout.strip():
        try:
            body = json.loads(stdout)
            decision = body["hookSpecificOutput"]["permissionDecision"]
            reason = str(body["hookSpecificOutput"].get("permissionDecisionReason", ""))
        except (ValueError, KeyError, TypeError):
            return HookAnswer("error", f"unreadable hook output: {stdout[:200]}", rule)
        return HookAnswer(str(decision), " ".join(reason.split()), rule)
    if code == 0:
        return HookAnswer("allow", "", rule)
    return HookAnswer("error", f"hook exited {code}: {stderr.strip()[:200]}", rule)


class Agent:
    """One agent session: a working folder, an environment, and (with Interlock) a hook."""

    def __init__(self, workdir: Path, env: dict[str, str], hook: Hook | None = None) -> None:
        self.workdir = workdir
        self.env = env
        self.hook = hook

    def bash(self, command: str) -> Outcome:
        """Run one Bash tool call, if the hook allows it. An ``ask`` (Claude Code's dialog to the
        person at the keyboard) is not approved: nobody sits at this agent's keyboard."""
        answer = self.hook.ask(command, self.workdir) if self.hook else None
        if answer is not None and not answer.allowed:
            return Outcome(command, answer, None)
        return Outcome(command, answer, run_shell(command, self.workdir, self.env))


# --- what the timeline says about an outcome ------------------------------------------------


def text_of(outcome: Outcome) -> str:
    return outcome.output.stdout if outcome.output else ""


def summary(outcome: Outcome) -> str:
    """What the agent saw, in one line."""
    if outcome.output is None:
        return "not run"
    text = (outcome.output.stdout or outcome.output.stderr).strip()
    return " ".join(text.split())[:160] or f"exit {outcome.output.exit_code}"


def stopped(outcome: Outcome) -> bool:
    """A hook answered and the command did not run."""
    return outcome.hook is not None and not outcome.ran


def hook_line(outcome: Outcome, what: str) -> str:
    if outcome.hook is None:
        return f"no hook answered for {what}"
    answer = outcome.hook
    if outcome.ran:
        return f"the hook let {what} run ({answer.verdict})"
    request = f", request {answer.request_id} pending" if answer.request_id else ""
    return f"the hook stopped {what} ({answer.verdict}{request})"
