"""`interlock credential …`, `interlock token …` and `interlock env`: the broker's commands.

They work on the server's data folder and database, like `interlock approver` (``--project``,
``--data-dir``, ``--database-url``), so they act on every replica at once when the database is
shared. Each change is recorded in the server's audit log (names and ids, never a value).

Nothing here prints a real credential: `credential add` reads the value from a hidden prompt or
standard input and answers with a hint of at most four characters; `token issue` and
`interlock env` print an Interlock token, once, to standard output only.
"""

from __future__ import annotations

import re
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from interlock.cli.serve import server_options
from interlock.errors import BrokerError


def _open(project: Path, data_dir: str | None, database_url: str | None) -> tuple[Any, Any, Any]:
    """Settings, a migrated engine and the server's audit log (as `interlock approver` opens)."""
    from interlock.audit import AuditLog
    from interlock.server import db
    from interlock.server.settings import load

    settings = load(project, data_dir=data_dir, database_url=database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = db.connect(settings.database_url)
    db.migrate(engine)
    return settings, engine, AuditLog(settings.data_dir / "audit.jsonl")


def _when(at: float | None) -> str:
    if at is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


# --- credentials ------------------------------------------------------------------------------


@click.group("credential")
def credential() -> None:
    """Store, list and remove the real upstream credentials agents never see."""


@credential.command("add")
@server_options
@click.argument("name")
@click.option("--upstream", required=True, help="The gateway upstream it authenticates to.")
@click.option(
    "--header", default="authorization", show_default=True, help="The header it is sent in."
)
@click.option(
    "--scheme",
    default="Bearer",
    show_default=True,
    help="Word before the value in the header; '' sends the value alone.",
)
@click.option("--value-stdin", is_flag=True, help="Read the value from one line of stdin.")
@click.option("--replace", is_flag=True, help="Overwrite an existing credential of that name.")
def credential_add(
    project: Path,
    data_dir: str | None,
    database_url: str | None,
    name: str,
    upstream: str,
    header: str,
    scheme: str,
    value_stdin: bool,
    replace: bool,
) -> None:
    """Encrypt and store a credential (the value is asked for twice, hidden, or read from stdin)."""
    from interlock.broker import keys
    from interlock.broker.credentials import Credentials
    from interlock.secrets import Secret

    if value_stdin:
        value = Secret(sys.stdin.readline().rstrip("\r\n"))
    else:
        value = Secret(
            click.prompt(
                "value", hide_input=True, confirmation_prompt=True, prompt_suffix=" (hidden): "
            )
        )
    settings, engine, audit = _open(project, data_dir, database_url)
    key = keys.load(settings.data_dir, create=True)
    info = Credentials(engine, key, audit=audit).add(
        name, upstream, value, header=header, scheme=scheme, replace=replace
    )
    click.echo(
        f"credential {info.name} stored for upstream {info.upstream} "
        f"({info.header}: {info.scheme + ' ' if info.scheme else ''}{info.hint}; "
        f"key {info.key_id} from {key.source})"
    )


@credential.command("list")
@server_options
def credential_list(project: Path, data_dir: str | None, database_url: str | None) -> None:
    """List the credentials: names, upstreams and hints, never values."""
    from interlock.broker.credentials import Credentials

    _, engine, _ = _open(project, data_dir, database_url)
    found = Credentials(engine, None).list()  # nothing is decrypted: no key needed
    if not found:
        click.echo("no credentials (add one with `interlock credential add NAME --upstream U`)")
        return
    rows = [("NAME", "UPSTREAM", "HEADER", "VALUE", "KEY", "ADDED")]
    for info in found:
        shown = f"{info.scheme} {info.hint}" if info.scheme else info.hint
        rows.append(
            (info.name, info.upstream, info.header, shown, info.key_id, _when(info.created_at))
        )
    _table(rows)


@credential.command("verify")
@server_options
def credential_verify(project: Path, data_dir: str | None, database_url: str | None) -> None:
    """Decrypt every credential with the broker key and say which fail (never the values)."""
    from interlock.broker import keys
    from interlock.broker.credentials import Credentials

    settings, engine, _ = _open(project, data_dir, database_url)
    key = keys.load(settings.data_dir)
    results = Credentials(engine, key).verify()
    for name, problem in results.items():
        click.echo(f"{name}: ok" if problem is None else f"{name}: {problem}")
    failed = sum(problem is not None for problem in results.values())
    if failed:
        raise BrokerError(
            f"{failed} of {len(results)} credential(s) cannot be decrypted with key {key.id}",
            reason="verify",
        )
    click.echo(f"{len(results)} credential(s) decrypt with key {key.id} ({key.source})")


@credential.command("remove")
@server_options
@click.argument("name")
def credential_remove(
    project: Path, data_dir: str | None, database_url: str | None, name: str
) -> None:
    """Remove a credential; the gateway stops injecting it at once."""
    from interlock.broker.credentials import Credentials

    _, engine, audit = _open(project, data_dir, database_url)
    Credentials(engine, None, audit=audit).remove(name)
    click.echo(f"credential {name} removed")


# --- tokens -------------------------------------------------------------------------------------


def token_options(func: Any) -> Any:
    """What a token is bound to: shared by `token issue` and `interlock env`."""
    from interlock.broker.tokens import DEFAULT_TTL

    for option in reversed(
        [
            click.option("--env", "environment", required=True, help="The one environment."),
            click.option("--agent", default="agent", show_default=True, help="The agent's name."),
            click.option("--session", help="The agent session's id (default: a new one)."),
            click.option(
                "--ttl",
                type=int,
                default=DEFAULT_TTL,
                show_default=True,
                help="Lifetime in seconds (60 to 604800).",
            ),
            click.option(
                "--operation",
                "operations",
                multiple=True,
                help="An operation pattern it may perform (repeatable; default any).",
            ),
            click.option("--label", default="", help="A note shown in `token list`."),
        ]
    ):
        func = option(func)
    return func


def _issue(
    engine: Any,
    audit: Any,
    *,
    environment: str,
    upstreams: tuple[str, ...],
    agent: str,
    session: str | None,
    ttl: int,
    operations: tuple[str, ...],
    label: str,
) -> tuple[str, Any]:
    import secrets

    from interlock.broker.tokens import Tokens

    return Tokens(engine, audit=audit).issue(
        agent,
        session or "s-" + secrets.token_hex(8),
        environment,
        upstreams,
        operations or ("*",),
        ttl=ttl,
        label=label,
    )


def _describe(info: Any) -> str:
    return (
        f"token {info.id}: agent {info.agent}, session {info.session}, environment "
        f"{info.environment}, upstreams {','.join(info.upstreams)}, operations "
        f"{','.join(info.operations)}, expires {_when(info.expires_at)}"
    )


@click.group("token")
def token() -> None:
    """Issue, list, revoke and suspend the Interlock tokens agents hold."""


@token.command("issue")
@server_options
@token_options
@click.option(
    "--upstream", "upstreams", multiple=True, required=True, help="An upstream (repeatable)."
)
def token_issue(
    project: Path,
    data_dir: str | None,
    database_url: str | None,
    upstreams: tuple[str, ...],
    **binding: Any,
) -> None:
    """Issue a token; it is printed once, alone on stdout, and never stored."""
    _, engine, audit = _open(project, data_dir, database_url)
    value, info = _issue(engine, audit, upstreams=upstreams, **binding)
    click.echo(_describe(info), err=True)
    click.echo(value)


@token.command("list")
@server_options
@click.option("--all", "show_all", is_flag=True, help="Also revoked, suspended, expired ones.")
@click.option("--session", help="Only this session's tokens.")
def token_list(
    project: Path,
    data_dir: str | None,
    database_url: str | None,
    show_all: bool,
    session: str | None,
) -> None:
    """List tokens (active ones unless --all): ids and bindings, never the tokens."""
    from interlock.broker.tokens import Tokens

    _, engine, _ = _open(project, data_dir, database_url)
    now = time.time()
    found = [
        info
        for info in Tokens(engine).list(session=session)
        if show_all or info.state(now) == "active"
    ]
    if not found:
        click.echo("no tokens" if show_all else "no active tokens (--all shows the others)")
        return
    rows = [("ID", "STATE", "ENV", "UPSTREAMS", "OPERATIONS", "AGENT", "SESSION", "EXPIRES")]
    for info in found:
        rows.append(
            (
                info.id,
                info.state(now),
                info.environment,
                ",".join(info.upstreams),
                ",".join(info.operations),
                info.agent,
                info.session,
                _when(info.expires_at),
            )
        )
    _table(rows)


@token.command("revoke")
@server_options
@click.argument("token_id")
def token_revoke(
    project: Path, data_dir: str | None, database_url: str | None, token_id: str
) -> None:
    """Revoke one token by its id (tok_…); it is refused from the next request on."""
    from interlock.broker.tokens import Tokens

    _, engine, audit = _open(project, data_dir, database_url)
    info = Tokens(engine, audit=audit).revoke(token_id)
    click.echo(f"token {info.id} revoked ({info.agent}, session {info.session})")


@token.command("suspend")
@server_options
@click.option("--session", required=True, help="The agent session whose tokens stop working.")
@click.option("--reason", default="suspended by an operator", help="Recorded and shown.")
def token_suspend(
    project: Path, data_dir: str | None, database_url: str | None, session: str, reason: str
) -> None:
    """Suspend every token of an agent session at once (issue new ones to continue)."""
    from interlock.broker.tokens import Tokens

    _, engine, audit = _open(project, data_dir, database_url)
    suspended = Tokens(engine, audit=audit).suspend_session(session, reason)
    click.echo(f"{len(suspended)} token(s) of session {session} suspended")


# --- env ----------------------------------------------------------------------------------------


def url_variable(upstream: str) -> str:
    """``railway`` -> ``RAILWAY_URL``, ``aws.s3`` -> ``AWS_S3_URL``."""
    return re.sub(r"[^A-Z0-9]", "_", upstream.upper()) + "_URL"


@click.command("env")
@server_options
@token_options
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    help="An upstream (repeatable; default every upstream with a credential).",
)
def env(
    project: Path,
    data_dir: str | None,
    database_url: str | None,
    upstreams: tuple[str, ...],
    **binding: Any,
) -> None:
    """Issue a token and print the shell lines an agent session needs (eval "$(…)").

    The session gets an Interlock token and the gateway's URLs, never a real credential.
    """
    from interlock.broker.credentials import Credentials

    settings, engine, audit = _open(project, data_dir, database_url)
    if not upstreams:
        stored = Credentials(engine, None).list()
        upstreams = tuple(dict.fromkeys(info.upstream for info in stored))
    if not upstreams:
        raise BrokerError(
            "no upstream to give the session: no credential is stored and no --upstream given",
            "add a credential first (`interlock credential add NAME --upstream U`)",
        )
    value, info = _issue(engine, audit, upstreams=upstreams, **binding)
    click.echo(f"# {_describe(info)}")
    click.echo(f"export INTERLOCK_TOKEN={shlex.quote(value)}")
    click.echo(f"export INTERLOCK_ENV={shlex.quote(info.environment)}")
    for upstream in info.upstreams:
        url = f"{settings.base_url}/gateway/{upstream}"
        click.echo(f"export {url_variable(upstream)}={shlex.quote(url)}")


def _table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())
