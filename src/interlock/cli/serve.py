"""`interlock serve`, `interlock approver …`, `interlock kill` and `interlock resume`.

All of them work on the server's data folder and database (``[server]`` in interlock.toml,
``--data-dir``, ``$INTERLOCK_HOME``, ``--database-url``), so the admin commands work whether or
not a server process is running, and act on every replica at once when the database is shared.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from interlock.errors import ServerError

F = TypeVar("F", bound=Callable[..., Any])


def server_options(func: F) -> F:
    func = click.option(
        "--database-url",
        help="PostgreSQL URL shared by replicas (default: SQLite in the data folder).",
    )(func)
    func = click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        help="State folder (default: .interlock/ in the project, or $INTERLOCK_HOME).",
    )(func)
    func = click.option(
        "--project",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="The project whose interlock.toml configures the server.",
    )(func)
    return func


def _settings(project: Path, data_dir: str | None, database_url: str | None, **kw: Any) -> Any:
    from interlock.server.settings import load

    return load(project, data_dir=data_dir, database_url=database_url, **kw)


def _open(project: Path, data_dir: str | None, database_url: str | None) -> tuple[Any, Any]:
    """Settings and a migrated engine, without starting a server."""
    from interlock.server import db

    settings = _settings(project, data_dir, database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = db.connect(settings.database_url)
    db.migrate(engine)
    return settings, engine


@click.command("serve")
@server_options
@click.option("--host", help="Address to listen on.  [default: 127.0.0.1]")
@click.option("--port", type=int, help="Port to listen on.  [default: 8470]")
def serve(
    project: Path,
    data_dir: str | None,
    database_url: str | None,
    host: str | None,
    port: int | None,
) -> None:
    """Run the approval server and dashboard (Interlock's main job)."""
    import uvicorn

    from interlock.server import db
    from interlock.server.accounts import Accounts
    from interlock.server.app import create_app

    settings = _settings(project, data_dir, database_url, host=host, port=port)
    app = create_app(settings)
    engine = db.connect(settings.database_url)
    approvers = Accounts(engine).names()
    engine.dispose()
    where = "SQLite " + str(settings.data_dir / "interlock.db")
    if not settings.database_url.startswith("sqlite"):
        where = "PostgreSQL (database_url)"
    click.secho(f"Interlock approval server: {settings.base_url}/", fg="green", bold=True)
    click.echo(f"  state: {settings.data_dir} ({where})")
    if approvers:
        click.echo(f"  approvers: {', '.join(approvers)}")
    else:
        click.secho("  no approver yet. In another terminal, add the first one:", fg="yellow")
        click.echo(f"    .venv/bin/interlock approver add {getpass.getuser()}")
    click.echo(
        "  hooks file their asks here once interlock.toml has:\n"
        f'    [approvals]\n    server = "{settings.base_url}"'
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


@click.group("approver")
def approver() -> None:
    """Add, remove and list the people who can approve."""


@approver.command("add")
@server_options
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (for scripts).")
def approver_add(
    project: Path,
    data_dir: str | None,
    database_url: str | None,
    username: str,
    password_stdin: bool,
) -> None:
    """Add an approver; the password is asked for twice (at least 12 characters)."""
    from interlock.server.accounts import Accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    _, engine = _open(project, data_dir, database_url)
    Accounts(engine).add(username, password)
    click.echo(f"approver {username} added")


@approver.command("remove")
@server_options
@click.argument("username")
def approver_remove(
    project: Path, data_dir: str | None, database_url: str | None, username: str
) -> None:
    """Remove an approver and end their sessions."""
    from interlock.server.accounts import Accounts

    _, engine = _open(project, data_dir, database_url)
    Accounts(engine).remove(username)
    click.echo(f"approver {username} removed")


@approver.command("list")
@server_options
def approver_list(project: Path, data_dir: str | None, database_url: str | None) -> None:
    """List the approvers."""
    from interlock.server.accounts import Accounts

    _, engine = _open(project, data_dir, database_url)
    for name in Accounts(engine).names():
        click.echo(name)


@click.command("kill")
@server_options
@click.option("--reason", default="", help="Shown with the switch everywhere.")
def kill(project: Path, data_dir: str | None, database_url: str | None, reason: str) -> None:
    """Deny every pending request, and make every hook deny everything, until `resume`."""
    from interlock import killswitch
    from interlock.server.approvals import ApprovalService

    settings, engine = _open(project, data_dir, database_url)
    by = getpass.getuser()
    denied = ApprovalService(engine, settings.policy).kill(by, reason)
    path = killswitch.write(settings.data_dir, by, reason)
    click.secho(f"kill switch ON ({path}); {len(denied)} pending request(s) denied", fg="red")


@click.command("resume")
@server_options
@click.option("--approver", "name", help="Approver name (asked for when missing).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (for scripts).")
def resume(
    project: Path,
    data_dir: str | None,
    database_url: str | None,
    name: str | None,
    password_stdin: bool,
) -> None:
    """Turn the kill switch off; needs an approver's name and password."""
    from interlock import killswitch
    from interlock.server.accounts import Accounts
    from interlock.server.approvals import ApprovalService

    settings, engine = _open(project, data_dir, database_url)
    name = name or click.prompt("approver")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True)
    if not Accounts(engine).verify(name, password):
        raise ServerError("wrong approver name or password; the kill switch stays on")
    ApprovalService(engine, settings.policy).resume(name)
    killswitch.clear(settings.data_dir)
    click.secho(f"kill switch OFF (resumed by {name})", fg="green")
