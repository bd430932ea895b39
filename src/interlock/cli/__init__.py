"""The `interlock` command.

Each command group lives in its own module and is imported only when it is invoked, so
`interlock check` does not pay for the server and the hook path (`python -m interlock.hooks`)
does not import the CLI at all. The CLI catches only :class:`~interlock.errors.InterlockError`.
"""

from __future__ import annotations

import importlib
import sys

import click

from interlock import __version__
from interlock.errors import InterlockError

# name -> "module:attribute"; every entry must be documented in docs/cli.md (a test checks).
COMMANDS: dict[str, str] = {
    "check": "interlock.cli.check:check",
    "policy": "interlock.cli.policy:policy",
    "hook": "interlock.cli.hook:hook",
    "init": "interlock.cli.init:init",
    "doctor": "interlock.cli.doctor:doctor",
    "audit": "interlock.cli.audit:audit",
    "demo": "interlock.cli.demo:demo",
    "terraform": "interlock.cli.terraform:terraform",
    "serve": "interlock.cli.serve:serve",
    "approver": "interlock.cli.serve:approver",
    "kill": "interlock.cli.serve:kill",
    "resume": "interlock.cli.serve:resume",
    "credential": "interlock.cli.broker:credential",
    "token": "interlock.cli.broker:token",
    "honeytoken": "interlock.cli.honeytoken:honeytoken",
    "env": "interlock.cli.broker:env",
    "replay": "interlock.cli.replay:replay",
    "scan": "interlock.cli.scan:scan_command",
    "vault": "interlock.cli.vault:vault",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="interlock")
def cli() -> None:
    """Interlock: a decision point between AI coding agents and production."""


def main(argv: list[str] | None = None) -> int:
    try:
        result = cli.main(args=argv, prog_name="interlock", standalone_mode=False)
    except InterlockError as exc:
        click.secho(f"error: {exc.diagnostics()}", fg="red", err=True)
        return 1
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
