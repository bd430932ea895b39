"""`interlock doctor`: every silent-failure mode it detects, on a deliberately broken setup.

Each broken case asserts that doctor names the problem and that the report fails (exit 1); a
correctly installed and trusted project, set up with the real `interlock init`, passes. HOME
is a temporary folder in every test, so the real user's files are never read or written.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from interlock.cli.doctor import doctor as doctor_command
from interlock.cli.init import init as init_command
from interlock.doctor import Report, Status, diagnose
from interlock.doctor.claude import dropping_flag
from interlock.doctor.entries import covers, strip_comments
from interlock.doctor.probe import judge
from interlock.installer import hook_command, install


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    for name in ("CODEX_HOME", "GEMINI_CLI_TRUST_WORKSPACE", "GEMINI_CLI_TRUSTED_FOLDERS_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INTERLOCK_AUDIT_LOG", str(tmp_path / "users-own-audit.jsonl"))
    return folder


@pytest.fixture
def project(tmp_path: Path, home: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    return folder


@pytest.fixture
def managed(tmp_path: Path) -> Path:
    folder = tmp_path / "managed"
    folder.mkdir()
    return folder


def run(project: Path, home: Path, agent: str, probe: bool = False, **kw: Any) -> Report:
    kw.setdefault("managed_dirs", ())
    return diagnose(project, home=home, agents=(agent,), probe=probe, **kw)


def problems(report: Report) -> dict[str, str]:
    """check name -> message (joined) of every PROBLEM."""
    found: dict[str, str] = {}
    for agent in report.agents:
        for check in agent.problems:
            found[check.name] = found.get(check.name, "") + check.message + " | " + check.fix
    return found


def write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


CLAUDE_TOOLS = "Bash|Read|Write|Edit|MultiEdit|NotebookEdit"


def claude_settings(command: str, matcher: str = CLAUDE_TOOLS) -> dict[str, Any]:
    return {
        "hooks": {
            "PreToolUse": [
                {
                    "matcher": matcher,
                    "hooks": [{"type": "command", "command": command, "timeout": 30}],
                }
            ]
        }
    }


def fake_interpreter(folder: Path, body: str) -> str:
    """A stand-in 'python' that runs ``body`` (sh) instead of Interlock."""
    path = folder / "fake-python"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return str(path)


def trust_codex(project: Path, home: Path) -> None:
    hooks = project / ".codex" / "hooks.json"
    write(
        home / ".codex" / "config.toml",
        f'[projects."{project}"]\ntrust_level = "trusted"\n\n'
        f'[hooks.state."{hooks}:pre_tool_use:0:0"]\ntrusted_hash = "sha256:00"\n',
    )
    os.utime(home / ".codex" / "config.toml", (hooks.stat().st_mtime + 5,) * 2)


def trust_gemini(project: Path, home: Path) -> None:
    write(home / ".gemini" / "trustedFolders.json", {str(project): "TRUST_FOLDER"})


# --- a correct install passes ----------------------------------------------------------------


@pytest.mark.parametrize("agent", ["claude-code", "cursor", "codex", "gemini"])
def test_a_real_install_passes_with_the_probe(project: Path, home: Path, agent: str) -> None:
    install(project, (agent,), home=home)
    if agent == "codex":
        trust_codex(project, home)
    if agent == "gemini":
        trust_gemini(project, home)
    report = run(project, home, agent, probe=True)
    assert report.ok, report.lines()
    assert report.exit_code == 0
    (agent_report,) = report.agents
    probe = [c for c in agent_report.checks if c.name == "probe"]
    assert probe and probe[0].status is Status.OK and "denied `rm -rf ~`" in probe[0].message


def test_the_probe_never_writes_the_users_audit_log(
    project: Path, home: Path, tmp_path: Path
) -> None:
    install(project, ("claude-code",), home=home)
    assert run(project, home, "claude-code", probe=True).ok
    assert not (tmp_path / "users-own-audit.jsonl").exists()
    assert not (project / ".interlock" / "audit.jsonl").exists()


def test_cli_json_and_exit_status(project: Path, home: Path) -> None:
    install(project, ("claude-code",), home=home)
    runner = CliRunner()
    result = runner.invoke(
        doctor_command, ["--project", str(project), "--json", "--agent", "claude-code"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["ok"] is True
    assert body["agents"][0]["protected"] is True
    (project / ".claude" / "settings.json").write_text("{")
    result = runner.invoke(doctor_command, ["--project", str(project), "--no-probe"])
    assert result.exit_code == 1
    assert "PROBLEM" in result.output and "not valid JSON" in result.output


def test_no_agent_configured_fails_and_says_so(project: Path, home: Path) -> None:
    result = CliRunner().invoke(doctor_command, ["--project", str(project)])
    assert result.exit_code == 1
    assert "no agent is configured" in result.output
    assert "interlock init" in result.output


def test_init_runs_doctor_and_exits_with_its_status(project: Path, home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(init_command, ["--agent", "claude-code", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert "interlock doctor" in result.output and "Claude Code: protected" in result.output
    result = runner.invoke(init_command, ["--agent", "codex", "--project", str(project)])
    assert result.exit_code == 1, result.output
    assert "NOT PROTECTED" in result.output and "/hooks" in result.output
    result = runner.invoke(
        init_command, ["--agent", "codex", "--project", str(project), "--no-doctor"]
    )
    assert result.exit_code == 0 and "interlock doctor" not in result.output


# --- Claude Code ---------------------------------------------------------------------------


def test_claude_unparseable_settings(project: Path, home: Path) -> None:
    write(project / ".claude" / "settings.json", '{"hooks": {"PreToolUse": [}')
    found = problems(run(project, home, "claude-code"))
    assert "not valid JSON" in found["settings"] and "ignores the whole file" in found["settings"]
    assert "hook" in found  # nothing else holds the hook


@pytest.mark.parametrize(
    ("hooks", "named"),
    [
        ([], "'hooks' is a list, not an object"),
        ({"PreToolUse": {"matcher": "Bash"}}, "'hooks.PreToolUse' is not a list"),
        ({"PreToolUse": [{"matcher": 5, "hooks": []}]}, "matcher' is not a string"),
        ({"PreToolUse": [{"matcher": "Bash"}]}, "hooks' is missing or not a list"),
        ({"PreToolUse": [{"matcher": "Bash", "hooks": [{"command": "x"}]}]}, "type' is null"),
        (
            {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "cmd", "command": "x"}]}]},
            '"cmd"',
        ),
        (
            {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command"}]}]},
            "command' is missing",
        ),
        (
            {"PreToolUse": [{"hooks": [{"type": "command", "command": "x", "timeout": "30"}]}]},
            "timeout' is not a positive number",
        ),
    ],
)
def test_claude_schema_errors(project: Path, home: Path, hooks: object, named: str) -> None:
    install(project, ("claude-code",), home=home)
    write(project / ".claude" / "settings.local.json", {"hooks": hooks})
    found = problems(run(project, home, "claude-code"))
    assert named in found["schema"]
    assert "ignores the whole file" in found["schema"]


def test_claude_disable_all_hooks_in_local_settings(project: Path, home: Path) -> None:
    install(project, ("claude-code",), home=home)
    write(project / ".claude" / "settings.local.json", {"disableAllHooks": True})
    found = problems(run(project, home, "claude-code"))
    assert "disableAllHooks" in found and "settings.local.json" in found["disableAllHooks"]


def test_claude_disable_all_hooks_false_is_fine(project: Path, home: Path) -> None:
    install(project, ("claude-code",), home=home)
    write(project / ".claude" / "settings.local.json", {"disableAllHooks": False})
    assert run(project, home, "claude-code").ok


def test_claude_disable_all_hooks_in_managed_settings(
    project: Path, home: Path, managed: Path
) -> None:
    install(project, ("claude-code",), home=home)
    write(managed / "managed-settings.d" / "10-policy.json", {"disableAllHooks": True})
    found = problems(run(project, home, "claude-code", managed_dirs=(managed,)))
    assert "disableAllHooks" in found and "managed" in found["disableAllHooks"]


def test_claude_managed_hooks_only(project: Path, home: Path, managed: Path) -> None:
    install(project, ("claude-code",), home=home)
    write(managed / "managed-settings.json", {"allowManagedHooksOnly": True})
    found = problems(run(project, home, "claude-code", managed_dirs=(managed,)))
    assert "allowManagedHooksOnly" in found


def test_claude_user_level_install_counts(project: Path, home: Path) -> None:
    install(project, ("claude-code",), home=home, user=True)
    (project / ".claude").mkdir()
    assert run(project, home, "claude-code").ok


def test_claude_hook_under_the_wrong_event(project: Path, home: Path) -> None:
    settings = claude_settings(hook_command("claude-code"))
    settings["hooks"] = {"PostToolUse": settings["hooks"]["PreToolUse"]}
    write(project / ".claude" / "settings.json", settings)
    found = problems(run(project, home, "claude-code"))
    assert "PostToolUse" in found["event"]


def test_claude_matcher_that_misses_file_tools(project: Path, home: Path) -> None:
    write(
        project / ".claude" / "settings.json", claude_settings(hook_command("claude-code"), "Bash")
    )
    found = problems(run(project, home, "claude-code"))
    assert "Write" in found["matcher"] and "Read" in found["matcher"]
    assert "interlock init --agent claude-code" in found["matcher"]


def test_claude_wildcard_and_regex_matchers_cover(project: Path, home: Path) -> None:
    for matcher in ("*", "", "Bash|Read|Write|.*Edit|NotebookEdit"):
        write(
            project / ".claude" / "settings.json",
            claude_settings(hook_command("claude-code"), matcher),
        )
        assert run(project, home, "claude-code").ok, matcher


@pytest.mark.parametrize(
    "line",
    [
        "alias claude='claude --bare'",
        "alias c='claude --safe-mode --model opus'",
        "alias cu='/usr/local/bin/claude --setting-sources user'",
        'claude() { command claude --setting-sources=user "$@"; }',
    ],
)
def test_claude_aliases_that_drop_hooks(project: Path, home: Path, line: str) -> None:
    install(project, ("claude-code",), home=home)
    write(home / ".bashrc", f"# mine\nexport EDITOR=vim\n{line}\n")
    found = problems(run(project, home, "claude-code"))
    assert "line 3" in found["shell alias"]


@pytest.mark.parametrize(
    "line",
    [
        "alias c='claude --model opus'",
        "alias cp='claude --setting-sources user,project'",
        'echo "claude --bare is a flag"',
        "# alias claude='claude --bare'",
    ],
)
def test_claude_harmless_aliases(project: Path, home: Path, line: str) -> None:
    install(project, ("claude-code",), home=home)
    write(home / ".zshrc", line + "\n")
    assert run(project, home, "claude-code").ok


def test_dropping_flag_setting_sources_depends_on_where_the_hook_is() -> None:
    assert dropping_flag("claude --setting-sources user", {"project"}) == "--setting-sources user"
    assert dropping_flag("claude --setting-sources user", {"user"}) is None


def test_claude_interpreter_missing_and_the_probe_fails(project: Path, home: Path) -> None:
    write(
        project / ".claude" / "settings.json",
        claude_settings("/nonexistent/venv/bin/python -m interlock.hooks claude-code"),
    )
    found = problems(run(project, home, "claude-code", probe=True))
    assert "does not exist" in found["interpreter"]
    assert "NOT blocked" in found["probe"] and "exit 127" in found["probe"]


def test_claude_interpreter_not_absolute(project: Path, home: Path) -> None:
    write(
        project / ".claude" / "settings.json",
        claude_settings("python3 -m interlock.hooks claude-code"),
    )
    found = problems(run(project, home, "claude-code"))
    assert "not an absolute path" in found["interpreter"]


def test_claude_interpreter_not_executable(project: Path, home: Path, tmp_path: Path) -> None:
    program = tmp_path / "python"
    program.write_text("")
    program.chmod(stat.S_IRUSR | stat.S_IWUSR)
    write(
        project / ".claude" / "settings.json",
        claude_settings(f"{program} -m interlock.hooks claude-code"),
    )
    found = problems(run(project, home, "claude-code"))
    assert "not executable" in found["interpreter"]


def test_claude_interpreter_without_interlock(project: Path, home: Path, tmp_path: Path) -> None:
    program = fake_interpreter(tmp_path, 'echo "No module named interlock" >&2; exit 1')
    write(
        project / ".claude" / "settings.json",
        claude_settings(f"{program} -m interlock.hooks claude-code"),
    )
    found = problems(run(project, home, "claude-code", probe=True))
    assert "No module named interlock" in found["import"]
    assert "exit 1 is a non-blocking error" in found["probe"]


def test_probe_catches_a_hook_that_allows(project: Path, home: Path, tmp_path: Path) -> None:
    program = fake_interpreter(tmp_path, "cat > /dev/null; exit 0")
    write(
        project / ".claude" / "settings.json",
        claude_settings(f"{program} -m interlock.hooks claude-code"),
    )
    found = problems(run(project, home, "claude-code", probe=True))
    assert "NOT blocked" in found["probe"]


def test_probe_catches_a_hook_that_blocks_without_deciding(
    project: Path, home: Path, tmp_path: Path
) -> None:
    program = fake_interpreter(tmp_path, "cat > /dev/null; echo 'hook failed to start' >&2; exit 2")
    write(
        project / ".claude" / "settings.json",
        claude_settings(f"{program} -m interlock.hooks claude-code"),
    )
    found = problems(run(project, home, "claude-code", probe=True))
    assert "without reaching the decision point" in found["probe"]
    assert "hook failed to start" in found["probe"]


def test_probe_catches_a_hook_slower_than_its_timeout(
    project: Path, home: Path, tmp_path: Path
) -> None:
    program = fake_interpreter(tmp_path, "sleep 30; exit 2")
    settings = claude_settings(f"{program} -m interlock.hooks claude-code")
    settings["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"] = 1
    write(project / ".claude" / "settings.json", settings)
    found = problems(run(project, home, "claude-code", probe=True))
    assert "did not answer within its 1 s timeout" in found["probe"]


def test_claude_settings_running_another_agents_adapter(project: Path, home: Path) -> None:
    write(project / ".claude" / "settings.json", claude_settings(hook_command("gemini")))
    found = problems(run(project, home, "claude-code"))
    assert "'gemini' adapter" in found["command"]


# --- Codex ---------------------------------------------------------------------------------


def test_codex_hook_not_trusted(project: Path, home: Path) -> None:
    install(project, ("codex",), home=home)
    write(home / ".codex" / "config.toml", f'[projects."{project}"]\ntrust_level = "trusted"\n')
    found = problems(run(project, home, "codex"))
    assert "nobody has trusted" in found["hook trust"]
    assert (
        "/hooks" in found["hook trust"] and "--dangerously-bypass-hook-trust" in found["hook trust"]
    )


def test_codex_project_not_trusted(project: Path, home: Path) -> None:
    install(project, ("codex",), home=home)
    found = problems(run(project, home, "codex"))
    assert "not trusted" in found["project trust"]
    write(home / ".codex" / "config.toml", f'[projects."{project}"]\ntrust_level = "untrusted"\n')
    assert "marked untrusted" in problems(run(project, home, "codex"))["project trust"]


def test_codex_user_hook_needs_no_project_trust(project: Path, home: Path) -> None:
    install(project, ("codex",), home=home, user=True)
    hooks = home / ".codex" / "hooks.json"
    write(
        home / ".codex" / "config.toml",
        f'[hooks.state."{hooks}:pre_tool_use:0:0"]\ntrusted_hash = "sha256:00"\n',
    )
    os.utime(home / ".codex" / "config.toml", (hooks.stat().st_mtime + 5,) * 2)
    (project / ".codex").mkdir()
    assert run(project, home, "codex").ok


def test_codex_feature_flag_off(project: Path, home: Path) -> None:
    install(project, ("codex",), home=home)
    trust_codex(project, home)
    config = home / ".codex" / "config.toml"
    config.write_text(config.read_text() + "\n[features]\nhooks = false\n")
    os.utime(config, (config.stat().st_mtime + 10,) * 2)
    found = problems(run(project, home, "codex"))
    assert "hooks = false" in found["feature flag"]


def test_codex_hook_disabled(project: Path, home: Path) -> None:
    install(project, ("codex",), home=home)
    trust_codex(project, home)
    config = home / ".codex" / "config.toml"
    config.write_text(config.read_text() + "enabled = false\n")
    os.utime(config, (config.stat().st_mtime + 10,) * 2)
    assert "disabled in Codex" in problems(run(project, home, "codex"))["hook trust"]


def test_codex_entry_changed_after_trust_is_a_warning(project: Path, home: Path) -> None:
    install(project, ("codex",), home=home)
    trust_codex(project, home)
    hooks = project / ".codex" / "hooks.json"
    os.utime(hooks, (hooks.stat().st_mtime + 60,) * 2)
    report = run(project, home, "codex")
    trust = [c for c in report.agents[0].checks if c.name == "hook trust"]
    assert trust[0].status is Status.WARNING and "modified" in trust[0].message


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"$schema": "x", "hooks": {}}, "unknown top-level key(s) $schema"),
        ({"hooks": {"PreToolUse": {"matcher": "Bash"}}}, "'hooks.PreToolUse' is not a list"),
    ],
)
def test_codex_hooks_json_schema(project: Path, home: Path, body: object, named: str) -> None:
    write(project / ".codex" / "hooks.json", body)
    found = problems(run(project, home, "codex"))
    assert named in found["schema"]


def test_codex_broken_config_toml(project: Path, home: Path) -> None:
    install(project, ("codex",), home=home)
    write(home / ".codex" / "config.toml", "[projects\n")
    assert "not valid TOML" in problems(run(project, home, "codex"))["settings"]


def test_codex_matcher_without_apply_patch(project: Path, home: Path) -> None:
    write(project / ".codex" / "hooks.json", claude_settings(hook_command("codex"), "Bash"))
    trust_codex(project, home)
    assert "apply_patch" in problems(run(project, home, "codex"))["matcher"]


def test_codex_honours_only_a_blocking_answer() -> None:
    ask = b'{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "ask"}}'
    deny = ask.replace(b'"ask"', b'"deny"')
    assert judge("codex", 0, ask)[0] is False
    assert judge("codex", 0, deny)[0] is True
    assert judge("claude-code", 0, ask)[0] is True
    assert judge("codex", 1, b"")[0] is False


# --- Gemini --------------------------------------------------------------------------------


def test_gemini_claude_style_config(project: Path, home: Path) -> None:
    write(project / ".gemini" / "settings.json", claude_settings(hook_command("gemini")))
    trust_gemini(project, home)
    found = problems(run(project, home, "gemini"))
    assert "PreToolUse is Claude Code's event" in found["event"] and "BeforeTool" in found["event"]


def test_gemini_folder_not_trusted(project: Path, home: Path) -> None:
    install(project, ("gemini",), home=home)
    found = problems(run(project, home, "gemini"))
    assert "runs no hooks" in found["folder trust"] and "TRUST_FOLDER" in found["folder trust"]
    write(home / ".gemini" / "trustedFolders.json", {str(project): "DO_NOT_TRUST"})
    assert "DO_NOT_TRUST" in problems(run(project, home, "gemini"))["folder trust"]


def test_gemini_trusted_parent_and_folder_trust_off(project: Path, home: Path) -> None:
    install(project, ("gemini",), home=home)
    write(home / ".gemini" / "trustedFolders.json", {str(project / "x"): "TRUST_PARENT"})
    assert run(project, home, "gemini").ok
    (home / ".gemini" / "trustedFolders.json").unlink()
    write(home / ".gemini" / "settings.json", {"security": {"folderTrust": {"enabled": False}}})
    assert run(project, home, "gemini").ok


def test_gemini_hooks_turned_off(project: Path, home: Path) -> None:
    install(project, ("gemini",), home=home)
    trust_gemini(project, home)
    write(home / ".gemini" / "settings.json", {"hooksConfig": {"enabled": False}})
    assert "turns every Gemini hook off" in problems(run(project, home, "gemini"))["hooksConfig"]
    write(
        home / ".gemini" / "settings.json", {"hooksConfig": {"disabled": [hook_command("gemini")]}}
    )
    assert "hooksConfig.disabled" in problems(run(project, home, "gemini"))["hooksConfig"]


def test_gemini_timeout_in_seconds_by_mistake(project: Path, home: Path) -> None:
    settings = claude_settings(
        hook_command("gemini"), "run_shell_command|read_file|read_many_files|write_file|replace"
    )
    settings["hooks"] = {"BeforeTool": settings["hooks"]["PreToolUse"]}
    write(project / ".gemini" / "settings.json", settings)
    trust_gemini(project, home)
    assert "30 ms" in problems(run(project, home, "gemini"))["timeout"]


def test_gemini_discarded_handler_type(project: Path, home: Path) -> None:
    install(project, ("gemini",), home=home)
    trust_gemini(project, home)
    settings = project / ".gemini" / "settings.json"
    data = json.loads(settings.read_text())
    data["hooks"]["BeforeTool"][0]["hooks"][0]["type"] = "cmd"
    settings.write_text(json.dumps(data))
    found = problems(run(project, home, "gemini"))
    assert '"cmd"' in found["schema"] and "hook" in found


def test_gemini_settings_with_comments_parse(project: Path, home: Path) -> None:
    install(project, ("gemini",), home=home)
    trust_gemini(project, home)
    settings = project / ".gemini" / "settings.json"
    settings.write_text("// mine\n/* block */\n" + settings.read_text())
    assert run(project, home, "gemini").ok
    assert strip_comments('{"a": "http://x/*y*/"}') == '{"a": "http://x/*y*/"}'


@pytest.mark.parametrize(
    ("stdout", "why"),
    [
        (b'{"hookSpecificOutput": {"permissionDecision": "deny"}}', "Gemini ignores"),
        (b'{"decision": "ask"}', "hangs Gemini"),
    ],
)
def test_gemini_probe_rejects_answers_gemini_does_not_honour(
    project: Path, home: Path, tmp_path: Path, stdout: bytes, why: str
) -> None:
    program = fake_interpreter(tmp_path, f"cat > /dev/null; echo '{stdout.decode()}'; exit 0")
    settings = claude_settings(
        f"{program} -m interlock.hooks gemini",
        "run_shell_command|read_file|read_many_files|write_file|replace",
    )
    settings["hooks"] = {"BeforeTool": settings["hooks"]["PreToolUse"]}
    settings["hooks"]["BeforeTool"][0]["hooks"][0]["timeout"] = 30000
    write(project / ".gemini" / "settings.json", settings)
    trust_gemini(project, home)
    assert why in problems(run(project, home, "gemini", probe=True))["probe"]


# --- Cursor --------------------------------------------------------------------------------


def test_cursor_entry_without_fail_closed(project: Path, home: Path) -> None:
    install(project, ("cursor",), home=home)
    path = project / ".cursor" / "hooks.json"
    data = json.loads(path.read_text())
    del data["hooks"]["beforeShellExecution"][0]["failClosed"]
    path.write_text(json.dumps(data))
    assert "crash or timeout" in problems(run(project, home, "cursor"))["failClosed"]


def test_cursor_missing_event_and_bad_version(project: Path, home: Path) -> None:
    install(project, ("cursor",), home=home)
    path = project / ".cursor" / "hooks.json"
    data = json.loads(path.read_text())
    del data["hooks"]["beforeReadFile"]
    path.write_text(json.dumps(data))
    assert "beforeReadFile" in problems(run(project, home, "cursor"))["events"]
    data["version"] = 2
    path.write_text(json.dumps(data))
    assert "not 1" in problems(run(project, home, "cursor"))["schema"]


def test_matcher_reading() -> None:
    assert covers(None, "Bash") and covers("*", "Write")
    assert covers("Bash|Write", "Write") and not covers("Bash|Write", "WriteX")
    assert covers("mcp__.*|Bash", "Bash") and not covers("Bas(", "Bash")
