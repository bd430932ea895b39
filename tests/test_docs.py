"""Documentation is part of the behaviour: a command, option, variable or setting that exists
must be documented (in the spirit of datasette's documentation tests)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from interlock.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CLI_DOC = (ROOT / "docs" / "cli.md").read_text()
POLICY_DOC = (ROOT / "docs" / "policy.md").read_text()


def _commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    found: list[tuple[str, click.Command]] = []

    def walk(command: click.Command, path: str) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                walk(sub, f"{path} {name}")

    walk(cli, "interlock")
    return found


def test_every_command_is_documented() -> None:
    for path, _ in _commands():
        assert f"`{path}" in CLI_DOC or f"{path} " in CLI_DOC, f"{path} missing from docs/cli.md"


def test_every_option_is_documented() -> None:
    for path, command in _commands():
        for param in command.params:
            if isinstance(param, click.Option):
                for option in (*param.opts, *param.secondary_opts):
                    assert option in CLI_DOC, f"{path} {option} missing from docs/cli.md"


def test_every_environment_variable_is_documented() -> None:
    used = set()
    for source in (ROOT / "src" / "interlock").rglob("*.py"):
        used |= set(re.findall(r"\bINTERLOCK_[A-Z_]+\b", source.read_text()))
    assert used, "expected Interlock to read some variables"
    missing = sorted(v for v in used if v not in CLI_DOC)
    assert not missing, f"undocumented in docs/cli.md: {missing}"


def test_every_policy_key_is_documented() -> None:
    from interlock.config import _RULE_KEYS

    keys = [f"rules[].{k}" for k in sorted(_RULE_KEYS)]
    keys += [
        "project.root",
        "environments.default",
        "environments.production",
        "environments.hosts",
    ]
    for key in keys:
        assert f"`{key}" in POLICY_DOC, f"{key} missing from docs/policy.md"
