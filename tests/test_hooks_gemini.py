"""Gemini CLI's BeforeTool protocol (realclients.md §3): exit 2 blocks; hooks cannot ask."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlock.actions import ShellAction, ToolCallAction
from interlock.errors import HookInputError
from interlock.hooks import gemini as adapter
from tests.test_hooks_support import (
    Sandbox,
    box,  # noqa: F401 - fixture
    gemini,
)


def test_destructive_command_exit_2(box: Sandbox) -> None:  # noqa: F811
    result = box.run("gemini", gemini(box.project, "run_shell_command", {"command": "rm -rf ~"}))
    assert result.code == 2
    assert result.stdout == ""
    assert "Interlock denied this" in result.stderr


def test_benign_command_exit_0_no_output(box: Sandbox) -> None:  # noqa: F811
    payload = gemini(box.project, "run_shell_command", {"command": "ls -la", "description": "x"})
    result = box.run("gemini", payload)
    assert (result.code, result.stdout, result.stderr) == (0, "", "")


def test_ask_blocks_with_what_a_person_can_do(box: Sandbox) -> None:  # noqa: F811
    payload = gemini(box.project, "read_file", {"file_path": str(box.home / ".ssh" / "id_rsa")})
    result = box.run("gemini", payload)
    assert result.code == 2
    assert "needs a person" in result.stderr
    assert "Gemini CLI cannot ask its user" in result.stderr
    assert result.stdout == ""  # Gemini ignores Claude-style JSON; none is sent


def test_write_outside_project_denied_and_unknown_tools_allowed(box: Sandbox) -> None:  # noqa: F811
    result = box.run("gemini", gemini(box.project, "write_file", {"file_path": "/etc/hosts"}))
    assert result.code == 2
    for tool in ("glob", "google_web_search", "list_directory"):
        assert box.run("gemini", gemini(box.project, tool, {"pattern": "*"})).code == 0


def test_parse_shapes(tmp_path: Path) -> None:
    call = adapter.parse(gemini(tmp_path, "run_shell_command", {"command": "ls", "dir_path": "x"}))
    (shell,) = call.actions
    assert isinstance(shell, ShellAction) and shell.cwd == str(tmp_path / "x")
    call = adapter.parse(gemini(tmp_path, "read_many_files", {"paths": ["a.py", "/etc/b"]}))
    assert [a.path for a in call.actions if isinstance(a, ToolCallAction)] == [
        str(tmp_path / "a.py"),
        "/etc/b",
    ]
    (replace,) = adapter.parse(gemini(tmp_path, "replace", {"file_path": "a.py"})).actions
    assert isinstance(replace, ToolCallAction) and replace.operation == "write"
    (mcp,) = adapter.parse(gemini(tmp_path, "mcp__db__query", {"sql": "DROP TABLE x"})).actions
    assert isinstance(mcp, ToolCallAction) and mcp.operation == "call"
    with pytest.raises(HookInputError, match="read_file"):
        adapter.parse(gemini(tmp_path, "read_file", {}))
