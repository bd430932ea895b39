"""Run an installed hook command with a synthetic ``rm -rf ~`` call and judge the answer.

Reading settings proves the entry is there; only running it proves it answers. The probe runs
the command exactly as written in the settings file, through ``sh -c`` and from the project
folder as the agents do, with that agent's payload shape (realclients.md), and a deadline: the
entry's own timeout, capped at :data:`MAX_PROBE_S`. The answer must be a block *in the form
that agent honours* (Gemini ignores Claude's JSON; Codex runs the command on a JSON ask), and
the audit record must show that the decision point denied it, so a hook that blocks only
because it crashed on start-up is reported too.

The probe never touches the user's audit log: ``INTERLOCK_AUDIT_LOG`` points at a temporary
file, the session id is ``interlock-doctor-probe``, and ``INTERLOCK_DAEMON=0`` keeps it from
starting a resident process. Nothing is executed: ``rm -rf ~`` is only the text being judged.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interlock.doctor.entries import Entry
from interlock.doctor.model import Check, init_fix, ok, problem, warning

PROBE_COMMAND = "rm -rf ~"
PROBE_SESSION = "interlock-doctor-probe"
MAX_PROBE_S = 60.0
DEFAULT_TIMEOUT_S = {"claude-code": 600.0, "codex": 600.0, "gemini": 60.0, "cursor": 60.0}


def payload(agent: str, project: Path) -> dict[str, Any]:
    """The hook payload ``agent`` would send for the model running ``rm -rf ~``."""
    cwd = str(project)
    if agent == "gemini":
        return {
            "session_id": PROBE_SESSION,
            "transcript_path": "",
            "cwd": cwd,
            "hook_event_name": "BeforeTool",
            "timestamp": "1970-01-01T00:00:00Z",
            "tool_name": "run_shell_command",
            "tool_input": {"command": PROBE_COMMAND, "description": "interlock doctor probe"},
        }
    if agent == "cursor":
        return {
            "hook_event_name": "beforeShellExecution",
            "conversation_id": PROBE_SESSION,
            "generation_id": PROBE_SESSION,
            "workspace_roots": [cwd],
            "command": PROBE_COMMAND,
            "cwd": cwd,
        }
    body: dict[str, Any] = {
        "session_id": PROBE_SESSION,
        "transcript_path": None,
        "cwd": cwd,
        "hook_event_name": "PreToolUse",
        "permission_mode": "default",
        "tool_name": "Bash",
        "tool_input": {"command": PROBE_COMMAND},
        "tool_use_id": "interlock-doctor-probe",
    }
    if agent == "codex":
        body.update(model="interlock-doctor", turn_id=PROBE_SESSION)
    return body


@dataclass
class Prober:
    project: Path
    enabled: bool = True
    _done: dict[tuple[str, str, float], Check] = field(default_factory=dict)

    def check(self, agent: str, entry: Entry) -> Check:
        timeout = min(entry.timeout_s or DEFAULT_TIMEOUT_S[agent], MAX_PROBE_S)
        key = (agent, entry.command, timeout)
        if not self.enabled:
            return warning("probe", "not run (--no-probe)")
        if key not in self._done:
            self._done[key] = self._run(agent, entry, timeout)
        found = self._done[key]
        return Check(found.name, found.status, found.message, found.fix, str(entry.path))

    def _run(self, agent: str, entry: Entry, timeout: float) -> Check:
        fix = init_fix(agent, user=entry.scope == "user")
        with tempfile.TemporaryDirectory(prefix="interlock-doctor-") as tmp:
            log = Path(tmp) / "audit.jsonl"
            env = {**os.environ, "INTERLOCK_AUDIT_LOG": str(log), "INTERLOCK_DAEMON": "0"}
            data = json.dumps(payload(agent, self.project)).encode()
            start = time.monotonic()
            try:
                proc = subprocess.run(
                    ["/bin/sh", "-c", entry.command],
                    input=data,
                    capture_output=True,
                    timeout=timeout,
                    env=env,
                    cwd=self.project if self.project.is_dir() else None,
                )
            except subprocess.TimeoutExpired:
                return problem(
                    "probe",
                    f"the hook did not answer within its {timeout:g} s timeout: the agent kills "
                    "it and runs the command",
                    "check that the interpreter starts (a slow network file system?), or raise "
                    "the entry's timeout",
                )
            except OSError as exc:
                return problem("probe", f"the hook could not be started ({exc})", fix)
            elapsed = time.monotonic() - start
            decisions = _audit_decisions(log)
        blocked, why = judge(agent, proc.returncode, proc.stdout)
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        if not blocked:
            return problem("probe", f"`{PROBE_COMMAND}` was NOT blocked: {why}", fix)
        if not decisions & {"deny", "ask"}:
            first = stderr.splitlines()[0][:300] if stderr else "no message"
            return problem(
                "probe",
                f"the hook blocked `{PROBE_COMMAND}` without reaching the decision point "
                f"({first}): every call is being blocked",
                fix,
            )
        budget = f" (timeout {timeout:g} s)"
        if elapsed > timeout / 2:
            return warning(
                "probe",
                f"denied `{PROBE_COMMAND}` ({why}) but took {elapsed:.2f} s{budget}: close to "
                "the point where the agent kills it and runs the command",
                "raise the entry's timeout",
            )
        return ok("probe", f"denied `{PROBE_COMMAND}` in {elapsed:.2f} s{budget}; {why}")


def judge(agent: str, code: int, stdout: bytes) -> tuple[bool, str]:
    """(blocked, how) for a hook's exit code and output, as ``agent`` reads them."""
    if code == 2:
        return True, "exit 2, which blocks in every agent"
    if code != 0:
        return False, f"exit {code} is a non-blocking error: the agent runs the command"
    try:
        body = json.loads(stdout.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False, "exit 0 with output that is not JSON: the agent runs the command"
    if not isinstance(body, dict):
        return False, "exit 0 without a decision: the agent runs the command"
    specific = body.get("hookSpecificOutput")
    claude = specific.get("permissionDecision") if isinstance(specific, dict) else None
    if agent == "gemini":
        if claude is not None:
            return False, "Claude-style JSON, which Gemini ignores: the command runs"
        decision = body.get("decision")
        if decision in ("deny", "block"):
            return True, f'JSON decision "{decision}"'
        if decision == "ask":
            return False, 'JSON "ask", which hangs Gemini in headless (-p) mode'
        return False, f"exit 0 with decision {decision!r}: the command runs"
    if agent == "cursor":
        permission = body.get("permission")
        return permission == "deny", f'JSON permission "{permission}"'
    if claude == "deny":
        return True, 'JSON permissionDecision "deny"'
    if claude == "ask" and agent == "claude-code":
        return True, 'JSON "ask" (a dialog in the TUI, a block in -p)'
    if claude == "ask":
        return False, 'JSON "ask", which Codex ignores: the command runs'
    return False, f"exit 0 with permissionDecision {claude!r}: the command runs"


def _audit_decisions(log: Path) -> set[str]:
    found: set[str] = set()
    try:
        lines = log.read_text("utf-8").splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("decision"), str):
            found.add(record["decision"])
    return found
