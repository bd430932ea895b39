"""Running the real hook process, as the agents do, with the payload shapes they really send.

The payloads are copied from what the real clients sent (shared/notes/realclients.md: Claude
Code 2.1.197, Codex 0.169.0, Gemini CLI 0.61.0) and from Cursor's documented events
(peers.md §c). Every hook test runs ``<venv python> -m interlock.hooks <agent>`` as a
subprocess in a throwaway project with a throwaway HOME and audit log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

AGENTS = ("claude-code", "cursor", "codex", "gemini")


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass(frozen=True)
class Sandbox:
    project: Path
    home: Path
    audit: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
        # In-process decisions: the warm daemon has its own tests (test_hooks_daemon.py).
        env.update(HOME=str(self.home), INTERLOCK_AUDIT_LOG=str(self.audit), INTERLOCK_DAEMON="0")
        env.update(extra)
        return env

    def run(self, agent: str, stdin: bytes | str | dict[str, Any], **extra: str) -> Result:
        if isinstance(stdin, dict):
            stdin = json.dumps(stdin)
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        proc = subprocess.run(
            [sys.executable, "-m", "interlock.hooks", agent],
            input=data,
            capture_output=True,
            cwd=self.project,
            env=self.env(**extra),
            timeout=60,
        )
        return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    def records(self) -> list[dict[str, Any]]:
        if not self.audit.exists():
            return []
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line]


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    project = tmp_path / "home" / "dev" / "app"
    (project / ".git").mkdir(parents=True)
    (project / "src").mkdir()
    (project / "src" / "main.py").write_text("print('hi')\n")
    home = tmp_path / "home" / "dev"
    (home / ".ssh").mkdir()
    return Sandbox(project=project, home=home, audit=tmp_path / "audit" / "audit.jsonl")


# --- payloads, as each client sends them --------------------------------------------------


def claude(
    cwd: Path, tool: str, tool_input: dict[str, Any], mode: str = "default"
) -> dict[str, Any]:
    return {
        "session_id": "8d6c0e7b-1111-2222-3333-444455556666",
        "transcript_path": f"{cwd}/.claude/projects/x/8d6c0e7b.jsonl",
        "cwd": str(cwd),
        "prompt_id": "6e68288c-aaaa",
        "permission_mode": mode,
        "effort": {"level": "high"},
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_794b",
    }


def claude_bash(cwd: Path, command: str, mode: str = "default") -> dict[str, Any]:
    return claude(cwd, "Bash", {"command": command, "description": "Run scripted command"}, mode)


def codex(cwd: Path, tool: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": "019a-codex-session",
        "turn_id": "turn-1",
        "transcript_path": None,
        "cwd": str(cwd),
        "hook_event_name": "PreToolUse",
        "model": "fake-model",
        "permission_mode": "bypassPermissions",
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "call_abc123",
    }


def gemini(cwd: Path, tool: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": "gemini-session-1",
        "transcript_path": f"{cwd}/.gemini/tmp/chat.json",
        "cwd": str(cwd),
        "hook_event_name": "BeforeTool",
        "timestamp": "2026-11-22T04:00:00.000Z",
        "tool_name": tool,
        "tool_input": tool_input,
    }


def cursor(root: Path, event: str, **fields: Any) -> dict[str, Any]:
    return {
        "hook_event_name": event,
        "conversation_id": "conv-123",
        "generation_id": "gen-456",
        "workspace_roots": [str(root)],
        "model": "gpt-5",
        "cursor_version": "2.0.77",
        **fields,
    }


def shell_payload(agent: str, cwd: Path, command: str) -> dict[str, Any]:
    """The shell-tool call of each agent, for tests that run across all four."""
    if agent == "claude-code":
        return claude_bash(cwd, command)
    if agent == "codex":
        return codex(cwd, "Bash", {"command": command})
    if agent == "gemini":
        return gemini(cwd, "run_shell_command", {"command": command, "description": "x"})
    return cursor(cwd, "beforeShellExecution", command=command, cwd=str(cwd))


def read_payload(agent: str, cwd: Path, path: str) -> dict[str, Any]:
    if agent == "claude-code":
        return claude(cwd, "Read", {"file_path": path})
    if agent == "codex":
        return codex(cwd, "Read", {"file_path": path})
    if agent == "gemini":
        return gemini(cwd, "read_file", {"file_path": path})
    return cursor(cwd, "beforeReadFile", file_path=path, content="secret-not-logged")


def write_payload(agent: str, cwd: Path, path: str) -> dict[str, Any]:
    if agent == "claude-code":
        return claude(cwd, "Write", {"file_path": path, "content": "x"})
    if agent == "codex":
        patch = f"*** Begin Patch\n*** Add File: {path}\n+x\n*** End Patch\n"
        return codex(cwd, "apply_patch", {"input": patch})
    if agent == "gemini":
        return gemini(cwd, "write_file", {"file_path": path, "content": "x"})
    return cursor(cwd, "preToolUse", tool_name="Write", tool_input={"file_path": path})


def test_every_shell_payload_names_its_event_and_command(box: Sandbox) -> None:
    for agent in AGENTS:
        payload = json.loads(json.dumps(shell_payload(agent, box.project, "ls")))
        assert payload["hook_event_name"]
        assert "ls" in json.dumps(payload)
