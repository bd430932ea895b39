"""A vault folder named in interlock.toml is out of every agent command's reach: nothing in it
may be deleted, overwritten, moved away or have its permissions changed (paths.Place.VAULT),
while reading it stays allowed (docs/vault.md, "What the hook guards")."""

from __future__ import annotations

import pytest

from interlock.actions import ShellAction, ToolCallAction
from interlock.config import parse_policy
from interlock.decisions import Verdict
from interlock.engine import decide

ROOT = "/home/dev/app"
POLICY = parse_policy(b'[vault]\nlocation = "backups"\n', project_root=ROOT)
OUTSIDE = parse_policy(b'[vault]\nlocation = "/tmp/interlock-vault"\n', project_root=ROOT)
REMOTE = parse_policy(b'[vault]\nlocation = "http://127.0.0.1:8475"\n', project_root=ROOT)


def _shell(command: str, policy: object = POLICY) -> tuple[Verdict, str]:
    decision = decide(ShellAction(command=command, cwd=ROOT), policy)  # type: ignore[arg-type]
    return decision.verdict, decision.message()


def test_the_location_is_read_relative_to_the_config_file() -> None:
    assert POLICY.vaults == (f"{ROOT}/backups",)
    assert OUTSIDE.vaults == ("/tmp/interlock-vault",)
    assert REMOTE.vaults == ()


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf backups",
        "rm -rf backups/snapshots",
        "rm backups/objects/ab/abcd",
        "rm -rf backups/*",
        "rm -rf backups/$X",
        "find backups -delete",
        "chmod -R u+w backups",
        "mv backups /tmp/old",
        "echo x > backups/config",
        "cp other backups/objects/ab/abcd",
        "truncate -s 0 backups/config",
    ],
)
def test_writing_or_deleting_in_the_vault_is_denied(command: str) -> None:
    verdict, reason = _shell(command)
    assert verdict is Verdict.DENY, (command, reason)
    assert "vault" in reason


@pytest.mark.parametrize(
    "command", ["rm -rf /tmp/interlock-vault", "rm -rf /tmp/interlock-vault/objects", "rm -rf /tmp"]
)
def test_a_vault_outside_the_project_is_guarded_too(command: str) -> None:
    verdict, reason = _shell(command, OUTSIDE)
    assert verdict is Verdict.DENY, (command, reason)
    if command != "rm -rf /tmp":
        # Without the vault setting, a folder in /tmp is temporary files: allowed.
        assert _shell(command, parse_policy(b"", project_root=ROOT))[0] is Verdict.ALLOW


@pytest.mark.parametrize("command", ["ls -la backups", "cat backups/config", "du -sh backups"])
def test_reading_the_vault_stays_allowed(command: str) -> None:
    assert _shell(command)[0] is Verdict.ALLOW


def test_the_rest_of_the_project_is_judged_as_before() -> None:
    assert _shell("rm -rf src")[0] is Verdict.ASK
    assert _shell("rm -rf build")[0] is Verdict.ALLOW
    assert _shell("rm -rf .")[1].startswith("recursively deletes the whole project")


def test_an_agent_tool_cannot_write_into_the_vault() -> None:
    write = ToolCallAction(tool="Write", operation="write", path=f"{ROOT}/backups/config", cwd=ROOT)
    assert decide(write, POLICY).verdict is Verdict.DENY
    read = ToolCallAction(tool="Read", operation="read", path=f"{ROOT}/backups/config", cwd=ROOT)
    assert decide(read, POLICY).verdict is Verdict.ALLOW
