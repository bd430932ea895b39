"""Claude Code's PreToolUse protocol, through the real hook process (realclients.md §1).

deny = exit 2 + reason on stderr; ask = exit 0 + JSON permissionDecision "ask"; allow = exit
0 and no output at all (a JSON allow would override Claude Code's own permission checks).
"""

from __future__ import annotations

import json
from pathlib import Path

from interlock.actions import Action, ShellAction, ToolCallAction
from interlock.hooks import claude_code
from tests.test_hooks_support import (
    Sandbox,
    box,  # noqa: F401 - fixture
    claude,
    claude_bash,
)


def test_destructive_command_is_blocked_with_exit_2(box: Sandbox) -> None:  # noqa: F811
    result = box.run("claude-code", claude_bash(box.project, "rm -rf ~"))
    assert result.code == 2
    assert result.stdout == ""
    assert "Interlock denied this" in result.stderr
    assert "[rule " in result.stderr
    assert "interlock policy explain -- 'rm -rf ~'" in result.stderr
    assert "a person can run it themselves" in result.stderr


def test_benign_command_exits_0_with_no_output(box: Sandbox) -> None:  # noqa: F811
    result = box.run("claude-code", claude_bash(box.project, "ls -la"))
    assert (result.code, result.stdout) == (0, "")


def test_ask_becomes_claude_codes_own_dialog(box: Sandbox) -> None:  # noqa: F811
    result = box.run("claude-code", claude_bash(box.project, "rm -rf src"))
    assert result.code == 0
    out = result.json()["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse"
    assert out["permissionDecision"] == "ask"
    assert "Interlock asks a person" in out["permissionDecisionReason"]


def test_ask_in_auto_mode_blocks_because_auto_ignores_hook_asks(box: Sandbox) -> None:  # noqa: F811
    payload = claude(box.project, "Read", {"file_path": str(box.home / ".ssh" / "id_rsa")}, "auto")
    result = box.run("claude-code", payload)
    assert result.code == 2
    assert "needs a person" in result.stderr


def test_credential_read_asks_and_write_outside_project_denies(box: Sandbox) -> None:  # noqa: F811
    read = box.run("claude-code", claude(box.project, "Read", {"file_path": "~/.ssh/id_rsa"}))
    assert read.code == 0
    assert read.json()["hookSpecificOutput"]["permissionDecision"] == "ask"
    write = box.run("claude-code", claude(box.project, "Write", {"file_path": "/etc/cron.d/x"}))
    assert write.code == 2
    assert "/etc/cron.d/x" in write.stderr


def test_ordinary_file_tools_and_unknown_tools_are_allowed(box: Sandbox) -> None:  # noqa: F811
    for tool, tool_input in [
        ("Edit", {"file_path": "src/main.py", "old_string": "a", "new_string": "b"}),
        ("Grep", {"pattern": "TODO"}),
        ("WebFetch", {"url": "https://example.com"}),
        ("TodoWrite", {"todos": []}),
    ]:
        result = box.run("claude-code", claude(box.project, tool, tool_input))
        assert (result.code, result.stdout) == (0, ""), (tool, result)


def test_parse_maps_each_tool_to_actions(tmp_path: Path) -> None:
    def actions(tool: str, tool_input: dict[str, object]) -> tuple[Action, ...]:
        return claude_code.parse(claude(tmp_path, tool, tool_input)).actions

    (bash,) = actions("Bash", {"command": "ls"})
    assert isinstance(bash, ShellAction) and bash.command == "ls" and bash.cwd == str(tmp_path)
    assert bash.actor.agent == "claude-code" and bash.actor.session
    (nb,) = actions("NotebookEdit", {"notebook_path": "a.ipynb", "new_source": "x"})
    assert isinstance(nb, ToolCallAction)
    assert (nb.operation, nb.path) == ("write", str(tmp_path / "a.ipynb"))
    (grep,) = actions("Grep", {"pattern": "x", "path": "/etc"})
    assert isinstance(grep, ToolCallAction) and grep.operation == "read"
    (mcp,) = actions("mcp__railway__volume_delete", {"volumeId": "vol-7"})
    assert isinstance(mcp, ToolCallAction)
    assert (mcp.operation, mcp.arguments) == ("call", {"volumeId": "vol-7"})
    (write,) = actions("Write", {"file_path": "x.txt", "content": "TOKEN=abc"})
    assert "TOKEN" not in json.dumps(write.payload())  # contents are never carried


def test_mcp_destructive_tool_is_not_allowed(box: Sandbox) -> None:  # noqa: F811
    payload = claude(box.project, "mcp__railway__volume_delete", {"volumeId": "vol-7"})
    result = box.run("claude-code", payload)
    assert result.code in (0, 2)
    assert result.stdout or result.stderr  # ask (JSON) or deny (stderr), never a silent allow
