"""Hook payloads exactly as each agent sends them (issue #2 item 9).

Timing a hook with a made-up payload would measure a different parse, and a payload the
adapter rejects measures a failure path. These are the shapes recorded from the real clients
(../shared/notes/realclients.md, "Observed hook payload", and peers.md §c for Cursor).
"""

from __future__ import annotations

import json
import os

BENIGN = "ls -la"
DESTRUCTIVE = "rm -rf ~"
CREDENTIAL_FILE = "~/.aws/credentials"


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


def _json(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")
