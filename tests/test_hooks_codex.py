"""Codex CLI's PreToolUse protocol (realclients.md §2): it cannot ask, so ask blocks too."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlock.actions import ShellAction, ToolCallAction
from interlock.errors import HookInputError
from interlock.hooks import codex as adapter
from tests.test_hooks_support import (
    Sandbox,
    box,  # noqa: F401 - fixture
    codex,
)

PATCH = """*** Begin Patch
*** Update File: src/main.py
@@
-print('hi')
+print('hello')
*** Add File: docs/new.md
+# new
*** Delete File: old.txt
*** End Patch
"""


def test_destructive_command_exit_2(box: Sandbox) -> None:  # noqa: F811
    result = box.run("codex", codex(box.project, "Bash", {"command": "rm -r ~"}))
    assert result.code == 2
    assert result.stdout == ""
    assert "Interlock denied this" in result.stderr
    # Codex appends ". Command: <cmd>" itself.
    assert result.stderr.endswith(
        "see why; a person can run it themselves if it is really intended\n"
    )


def test_argv_command_is_joined_and_judged(box: Sandbox) -> None:  # noqa: F811
    payload = codex(box.project, "exec_command", {"command": ["bash", "-lc", "rm -rf ~"]})
    result = box.run("codex", payload)
    assert result.code == 2


def test_benign_command_exit_0_no_output(box: Sandbox) -> None:  # noqa: F811
    result = box.run("codex", codex(box.project, "Bash", {"command": "ls -la"}))
    assert (result.code, result.stdout, result.stderr) == (0, "", "")


def test_ask_blocks_and_says_what_a_person_can_do(box: Sandbox) -> None:  # noqa: F811
    result = box.run("codex", codex(box.project, "Bash", {"command": "rm -rf src"}))
    assert result.code == 2
    assert "needs a person" in result.stderr
    assert "Codex cannot ask its user" in result.stderr
    assert "interlock.toml" in result.stderr and "[[rules]]" in result.stderr


def test_apply_patch_outside_the_project_is_blocked(box: Sandbox) -> None:  # noqa: F811
    patch = "*** Begin Patch\n*** Add File: /etc/profile.d/x.sh\n+echo\n*** End Patch\n"
    result = box.run("codex", codex(box.project, "apply_patch", {"input": patch}))
    assert result.code == 2
    assert "/etc/profile.d/x.sh" in result.stderr


def test_apply_patch_inside_the_project_is_allowed_and_audited_per_file(box: Sandbox) -> None:  # noqa: F811
    result = box.run("codex", codex(box.project, "apply_patch", {"input": PATCH}))
    assert (result.code, result.stdout) == (0, "")
    assert len(box.records()) == 3


def test_patch_files_lists_every_change() -> None:
    assert adapter.patch_files(PATCH) == [
        ("update", "src/main.py"),
        ("add", "docs/new.md"),
        ("delete", "old.txt"),
    ]


def test_parse_shapes(tmp_path: Path) -> None:
    call = adapter.parse(codex(tmp_path, "Bash", {"command": ["git", "commit", "-m", "a b"]}))
    (action,) = call.actions
    assert isinstance(action, ShellAction) and action.command == "git commit -m 'a b'"
    call = adapter.parse(codex(tmp_path, "exec_command", {"cmd": "ls", "workdir": "sub"}))
    (action,) = call.actions
    assert isinstance(action, ShellAction) and action.cwd == str(tmp_path / "sub")
    call = adapter.parse(codex(tmp_path, "exec_command", {"command": ["apply_patch", PATCH]}))
    assert all(isinstance(a, ToolCallAction) for a in call.actions) and len(call.actions) == 3
    with pytest.raises(HookInputError, match="names no file"):
        adapter.parse(codex(tmp_path, "apply_patch", {"input": "just text"}))
