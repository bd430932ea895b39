"""Cursor's hook protocol: JSON permission on stdout; deny also exits 2 (blocks without JSON)."""

from __future__ import annotations

from pathlib import Path

from interlock.actions import ShellAction, ToolCallAction
from interlock.hooks import cursor as adapter
from tests.test_hooks_support import (
    Sandbox,
    box,  # noqa: F401 - fixture
    cursor,
)


def test_destructive_command_denied_by_json_and_exit_2(box: Sandbox) -> None:  # noqa: F811
    payload = cursor(box.project, "beforeShellExecution", command="rm -rf ~", cwd=str(box.project))
    result = box.run("cursor", payload)
    assert result.code == 2
    body = result.json()
    assert body["permission"] == "deny"
    assert body["agent_message"] == body["user_message"]
    assert "Interlock denied this" in body["user_message"]


def test_benign_command_allowed(box: Sandbox) -> None:  # noqa: F811
    payload = cursor(box.project, "beforeShellExecution", command="ls -la", cwd=str(box.project))
    result = box.run("cursor", payload)
    assert result.code == 0
    assert result.json() == {"permission": "allow"}


def test_ask_uses_cursors_own_prompt(box: Sandbox) -> None:  # noqa: F811
    payload = cursor(
        box.project, "beforeShellExecution", command="rm -rf src", cwd=str(box.project)
    )
    result = box.run("cursor", payload)
    assert result.code == 0
    body = result.json()
    assert body["permission"] == "ask"
    assert "Interlock asks a person" in body["user_message"]


def test_credential_read_cannot_ask_so_it_is_denied(box: Sandbox) -> None:  # noqa: F811
    path = str(box.home / ".ssh" / "id_rsa")
    payload = cursor(box.project, "beforeReadFile", file_path=path, content="PRIVATE KEY")
    result = box.run("cursor", payload)
    assert result.code == 2
    assert result.json()["permission"] == "deny"
    assert "needs a person" in result.stderr
    assert "PRIVATE KEY" not in box.audit.read_text()


def test_mcp_tool_input_as_json_string(tmp_path: Path) -> None:
    call = adapter.parse(
        cursor(tmp_path, "beforeMCPExecution", tool_name="run_sql", tool_input='{"sql": "x"}')
    )
    (mcp,) = call.actions
    assert isinstance(mcp, ToolCallAction)
    assert (mcp.tool, mcp.arguments) == ("mcp__run_sql", {"sql": "x"})
    assert call.actor.session == "conv-123"


def test_pre_tool_use_shell_and_workspace_root_cwd(tmp_path: Path) -> None:
    call = adapter.parse(
        cursor(tmp_path, "preToolUse", tool_name="Shell", tool_input={"command": "ls"})
    )
    (shell,) = call.actions
    assert isinstance(shell, ShellAction) and shell.cwd == str(tmp_path)
    call = adapter.parse(cursor(tmp_path, "preToolUse", tool_name="Task", tool_input={}))
    assert call.actions == ()
