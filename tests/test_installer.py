"""`interlock init`: merge without clobbering, idempotence, exact undo, refusal of bad files."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from interlock.cli.init import init
from interlock.config import parse_policy
from interlock.errors import SetupError
from interlock.hooks import AGENTS
from interlock.installer import (
    CONFIG_TEMPLATE,
    detect_agents,
    hook_command,
    install,
    undo,
)

# Odd spacing on purpose: undo must give these exact bytes back, not a re-serialisation.
CLAUDE_BEFORE = (
    b'{ "model": "opus",\n  "permissions": {"allow": ["Bash(ls:*)"]},\n'
    b'  "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": '
    b'[{"type": "command", "command": "~/bin/guard.sh"}]}],\n'
    b'            "PostToolUse": [{"matcher": "Write", "hooks": '
    b'[{"type": "command", "command": "prettier"}]}]}}\n'
)


def load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def test_detects_agents_from_markers_and_falls_back_to_all(project: Path) -> None:
    assert detect_agents(project) == AGENTS
    (project / "CLAUDE.md").write_text("x")
    (project / ".gemini").mkdir()
    assert detect_agents(project) == ("claude-code", "gemini")
    (project / "AGENTS.md").write_text("x")
    (project / ".cursor").mkdir()
    assert detect_agents(project) == AGENTS


def test_hook_command_keeps_the_venv_symlink() -> None:
    command = hook_command("codex", "/opt/my venv/bin/python")
    assert command == "'/opt/my venv/bin/python' -m interlock.hooks codex"
    assert shlex.split(hook_command("gemini"))[0] == os.path.abspath(sys.executable)


def test_merge_keeps_other_keys_and_hooks(project: Path, home: Path) -> None:
    settings = project / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_bytes(CLAUDE_BEFORE)
    install(project, ("claude-code",), home=home, python="/venv/bin/python")
    data = load(settings)
    assert data["model"] == "opus"
    assert data["permissions"] == {"allow": ["Bash(ls:*)"]}
    assert data["hooks"]["PostToolUse"][0]["hooks"][0]["command"] == "prettier"
    groups = data["hooks"]["PreToolUse"]
    assert groups[0]["hooks"][0]["command"] == "~/bin/guard.sh"
    ours = groups[1]
    assert ours["matcher"] == "Bash|Read|Write|Edit|MultiEdit|NotebookEdit|Glob|Grep|mcp__.*"
    assert ours["hooks"] == [
        {
            "type": "command",
            "command": "/venv/bin/python -m interlock.hooks claude-code",
            "timeout": 30,
        }
    ]


def test_install_twice_adds_nothing(project: Path, home: Path) -> None:
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_bytes(CLAUDE_BEFORE)
    install(project, ("claude-code", "cursor"), home=home)
    files = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}
    changes = install(project, ("claude-code", "cursor"), home=home)
    assert [c.what for c in changes[:2]] == ["already installed", "already installed"]
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == files


def test_moved_venv_updates_the_entry_in_place(project: Path, home: Path) -> None:
    install(project, ("gemini",), home=home, python="/old/bin/python")
    changes = install(project, ("gemini",), home=home, python="/new/bin/python")
    assert changes[0].what == "updated"
    (group,) = load(project / ".gemini" / "settings.json")["hooks"]["BeforeTool"]
    assert group["hooks"] == [
        {
            "type": "command",
            "command": "/new/bin/python -m interlock.hooks gemini",
            "timeout": 30000,
        }
    ]


def test_undo_restores_byte_for_byte_and_removes_what_init_created(
    project: Path, home: Path
) -> None:
    settings = project / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_bytes(CLAUDE_BEFORE)
    install(project, AGENTS, home=home)
    assert (project / ".interlock" / "init.json").exists()
    assert (project / "interlock.toml").exists()
    undo(project, home=home)
    assert settings.read_bytes() == CLAUDE_BEFORE
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*")) == [
        ".claude",
        ".claude/settings.json",
    ]


def test_undo_after_a_user_edit_removes_only_interlocks_entries(project: Path, home: Path) -> None:
    hooks = project / ".cursor" / "hooks.json"
    hooks.parent.mkdir()
    hooks.write_text(json.dumps({"version": 1, "hooks": {"stop": [{"command": "notify"}]}}))
    install(project, ("cursor",), home=home)
    data = load(hooks)
    assert data["hooks"]["beforeShellExecution"][0]["failClosed"] is True
    assert set(data["hooks"]) == {
        "stop",
        "beforeShellExecution",
        "beforeReadFile",
        "beforeMCPExecution",
    }
    data["hooks"]["afterFileEdit"] = [{"command": "fmt"}]
    hooks.write_text(json.dumps(data))
    changes = undo(project, home=home)
    assert "file edited" in changes[0].what
    assert load(hooks) == {
        "version": 1,
        "hooks": {"stop": [{"command": "notify"}], "afterFileEdit": [{"command": "fmt"}]},
    }


def test_unparseable_settings_are_refused_and_nothing_changes(project: Path, home: Path) -> None:
    bad = project / ".gemini" / "settings.json"
    bad.parent.mkdir()
    bad.write_text('{\n  "theme": "dark",\n  "hooks": {,}\n}\n')
    with pytest.raises(SetupError, match=r"settings.json line 3 column"):
        install(project, ("claude-code", "gemini"), home=home)
    assert bad.read_text() == '{\n  "theme": "dark",\n  "hooks": {,}\n}\n'
    assert not (project / ".claude").exists()
    assert not (project / ".interlock").exists()
    assert not (project / "interlock.toml").exists()


def test_wrong_container_types_are_refused(project: Path, home: Path) -> None:
    path = project / ".codex" / "hooks.json"
    path.parent.mkdir()
    path.write_text('{"hooks": {"PreToolUse": {"matcher": "Bash"}}}')
    with pytest.raises(SetupError, match="not a list"):
        install(project, ("codex",), home=home)


def test_user_install_writes_home_settings(
    project: Path, home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codexhome"))
    install(project, AGENTS, user=True, home=home)
    assert (home / ".claude" / "settings.json").exists()
    assert (home / ".cursor" / "hooks.json").exists()
    assert (home / ".gemini" / "settings.json").exists()
    assert (tmp_path / "codexhome" / "hooks.json").exists()
    assert (home / ".interlock" / "init.json").exists()
    assert list(project.iterdir()) == []  # no template in the project for --user
    undo(project, user=True, home=home)
    assert list(home.iterdir()) == []
    assert not (tmp_path / "codexhome").exists()


def test_config_template_parses_and_an_existing_one_is_kept(project: Path, home: Path) -> None:
    policy = parse_policy(CONFIG_TEMPLATE.encode(), project_root=str(project))
    assert policy.rules and policy.default_environment == "development"
    (project / "interlock.toml").write_text("# mine\n")
    install(project, ("codex",), home=home)
    assert (project / "interlock.toml").read_text() == "# mine\n"
    undo(project, home=home)
    assert (project / "interlock.toml").read_text() == "# mine\n"


def test_installed_command_runs_the_hook(project: Path, home: Path) -> None:
    install(project, ("claude-code",), home=home)
    (group,) = load(project / ".claude" / "settings.json")["hooks"]["PreToolUse"]
    payload = {
        "session_id": "s",
        "cwd": str(project),
        "hook_event_name": "PreToolUse",
        "tool_name": "Write",
        "tool_input": {"file_path": "/etc/passwd", "content": "x"},
    }
    env = {**os.environ, "HOME": str(home), "INTERLOCK_AUDIT_LOG": str(home / "a.jsonl")}
    proc = subprocess.run(
        group["hooks"][0]["command"],
        shell=True,
        input=json.dumps(payload).encode(),
        capture_output=True,
        env=env,
        cwd=project,
    )
    assert proc.returncode == 2
    assert b"Interlock denied this" in proc.stderr


def test_cli_init_prints_the_codex_trust_step_and_undoes(
    project: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CODEX_HOME", raising=False)
    runner = CliRunner()
    result = runner.invoke(init, ["--agent", "codex", "--project", str(project)])
    # Installed, but doctor (run at the end) finds the hook untrusted: exit 1 until trusted.
    assert result.exit_code == 1, result.output
    assert "added" in result.output
    assert "/hooks" in result.output and "trust" in result.output
    assert "Codex CLI: NOT PROTECTED" in result.output
    result = runner.invoke(init, ["--undo", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert not (project / ".codex").exists()
    result = runner.invoke(init, ["--undo", "--project", str(project)])
    assert isinstance(result.exception, SetupError)
