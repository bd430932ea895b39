"""The runner fails closed: every bad input or internal failure is a block, never exit 0 or 1.

All three CLIs let a call run on exit 1, a crash or a timeout (realclients.md), so each case
here asserts exit 2 with a reason, for every agent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from interlock.hooks.runner import read_payload as parse_stdin
from tests.test_hooks_support import (
    AGENTS,
    Sandbox,
    box,  # noqa: F401 - fixture
    claude_bash,
    read_payload,
    shell_payload,
)

BAD_INPUTS: dict[str, bytes] = {
    "malformed JSON": b'{"hook_event_name": "PreToolUse", ',
    "empty stdin": b"",
    "non-object JSON": b'["rm", "-rf", "/"]',
    "unknown shape": b'{"hello": "world"}',
    "over 1 MB": b'{"x": "' + b"a" * 1_000_000 + b'"}',
    "non-UTF-8 byte": b'{"hook_event_name": "PreToolUse", "tool_name": "Bash\xff"}',
}
REASONS = {
    "malformed JSON": "not JSON",
    "empty stdin": "empty input",
    "non-object JSON": "not an object",
    "unknown shape": "hook_event_name",
    "over 1 MB": "over 1 MB",
    "non-UTF-8 byte": "not UTF-8",
}


def assert_blocked(agent: str, code: int, stdout: str, stderr: str, reason: str) -> None:
    assert code == 2, (code, stdout, stderr)
    assert reason in stderr
    assert "Interlock" in stderr
    if agent == "cursor":
        body = json.loads(stdout)
        assert body["permission"] == "deny"
        assert reason in body["agent_message"]
    else:
        assert stdout == ""


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_blocks(box: Sandbox, agent: str, case: str) -> None:  # noqa: F811
    result = box.run(agent, BAD_INPUTS[case])
    assert_blocked(agent, result.code, result.stdout, result.stderr, REASONS[case])


@pytest.mark.parametrize("agent", AGENTS)
def test_broken_interlock_toml_blocks(box: Sandbox, agent: str, tmp_path: Path) -> None:  # noqa: F811
    bad = tmp_path / "interlock.toml"
    bad.write_text("[environments\ndefault = 'x'\n")
    result = box.run(
        agent, read_payload(agent, box.project, "README.md"), INTERLOCK_CONFIG=str(bad)
    )
    assert_blocked(agent, result.code, result.stdout, result.stderr, "not valid TOML")


@pytest.mark.parametrize("agent", AGENTS)
def test_wrong_event_blocks(box: Sandbox, agent: str) -> None:  # noqa: F811
    payload = shell_payload(agent, box.project, "ls")
    payload["hook_event_name"] = "PostToolUse"
    result = box.run(agent, payload)
    assert_blocked(agent, result.code, result.stdout, result.stderr, "PostToolUse")


def test_wrong_types_block(box: Sandbox) -> None:  # noqa: F811
    payload = claude_bash(box.project, "ls")
    payload["tool_input"] = "ls"
    result = box.run("claude-code", payload)
    assert_blocked("claude-code", result.code, result.stdout, result.stderr, "tool_input")
    payload = claude_bash(box.project, "ls")
    payload["tool_input"] = {"command": ["ls", 3]}
    result = box.run("claude-code", payload)
    assert_blocked("claude-code", result.code, result.stdout, result.stderr, "tool_input.command")


def test_unknown_agent_and_missing_argument_block(box: Sandbox) -> None:  # noqa: F811
    result = box.run("copilot", claude_bash(box.project, "ls"))
    assert result.code == 2 and "unknown agent 'copilot'" in result.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "interlock.hooks"], input=b"{}", capture_output=True, env=box.env()
    )
    assert proc.returncode == 2 and b"usage" in proc.stderr


def test_stuck_stdin_is_denied_before_the_agent_times_out(box: Sandbox) -> None:  # noqa: F811
    # A hook killed by the agent's timeout fails open; the runner must answer first.
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "interlock.hooks", "claude-code"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=box.env(INTERLOCK_HOOK_DEADLINE="0.5"),
    )
    assert proc.stdin is not None
    proc.stdin.write(b'{"hook_event_name": ')
    proc.stdin.flush()
    _, err = _wait(proc)
    assert proc.returncode == 2
    assert b"did not finish within 0.5 s" in err
    assert time.monotonic() - started < 20
    proc.stdin.close()


def _wait(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    assert proc.stdout is not None and proc.stderr is not None
    proc.wait(timeout=30)
    return proc.stdout.read(), proc.stderr.read()


def test_audit_failure_keeps_the_allow_and_says_so(box: Sandbox) -> None:  # noqa: F811
    result = box.run(
        "claude-code",
        read_payload("claude-code", box.project, str(box.project / "src" / "main.py")),
        INTERLOCK_AUDIT_LOG="/dev/null/audit.jsonl",
    )
    assert result.code == 0
    assert result.stdout == ""
    assert "audit record NOT written" in result.stderr


def test_each_action_gets_one_audit_record(box: Sandbox) -> None:  # noqa: F811
    box.run("claude-code", read_payload("claude-code", box.project, "src/main.py"))
    box.run("claude-code", read_payload("claude-code", box.project, str(box.home / ".ssh/id_rsa")))
    records = box.records()
    assert len(records) == 2
    assert [r["decision"] for r in records] == ["allow", "ask"]
    assert "secret-not-logged" not in box.audit.read_text()


def test_interlock_hook_cli_runs_the_same_runner(box: Sandbox) -> None:  # noqa: F811
    interlock = Path(sys.executable).parent / "interlock"
    payload = read_payload("gemini", box.project, str(box.home / ".ssh" / "id_rsa"))
    proc = subprocess.run(
        [str(interlock), "hook", "gemini"],
        input=json.dumps(payload).encode(),
        capture_output=True,
        env=box.env(),
        cwd=box.project,
    )
    assert proc.returncode == 2
    assert b"needs a person" in proc.stderr


def test_read_payload_caps_at_one_megabyte() -> None:
    import io

    exactly = b'"' + b"a" * (1_000_000 - 2) + b'"'
    with pytest.raises(Exception, match="not an object"):
        parse_stdin(io.BytesIO(exactly))
    with pytest.raises(Exception, match="over 1 MB"):
        parse_stdin(io.BytesIO(exactly + b" "))
