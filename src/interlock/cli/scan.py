"""`interlock scan [PATH] [--json] [--move]`: credentials lying in a project.

Prints file, line and kind of each, never a value (docs/scanner.md). Exit status: 0 when no
stray credential is left (Interlock's own honeytokens do not count), 1 when some are, or on an
error, so CI can run it. ``--move`` stores each in the broker (asking first, unless ``--yes``)
and leaves a reference behind; the broker lives in the server's data folder and database,
like `interlock credential add`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from interlock.scanner import MAX_BYTES, Finding, Report, data_dir_for, scan
from interlock.scanner.moves import Move, Outcome

NOT_HTTP = frozenset({"database", "url"})
"""Upstreams of kinds the gateway does not forward to: `interlock env` has nothing to give."""


@click.command("scan")
@click.argument(
    "path", type=click.Path(exists=True, path_type=Path), default=Path("."), required=False
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--move", is_flag=True, help="Move each credential into the broker, leaving a reference."
)
@click.option("--yes", "-y", is_flag=True, help="With --move: do not ask before each move.")
@click.option(
    "--max-bytes",
    type=click.IntRange(1),
    default=MAX_BYTES,
    show_default=True,
    help="Skip files larger than this (they are counted, not read).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Interlock's data folder (default: the server's, else .interlock/ in PATH).",
)
@click.option("--database-url", help="With --move: the broker's database (default: the server's).")
@click.pass_context
def scan_command(
    ctx: click.Context,
    path: Path,
    as_json: bool,
    move: bool,
    yes: bool,
    max_bytes: int,
    data_dir: Path | None,
    database_url: str | None,
) -> None:
    """Find credentials in PATH (default: here): file, line and kind, never the value."""
    if move and as_json and not yes:
        raise click.UsageError("--move --json cannot ask before each move: add --yes")
    base = path if path.is_dir() else path.parent
    folder = data_dir or data_dir_for(base)
    report = scan(path, data_dir=folder, max_bytes=max_bytes)
    outcomes: list[Outcome] = []
    if move and report.leaks:
        if not as_json:
            _print(report)
            click.echo()
        outcomes = _move(report, base, folder, database_url, ask=not yes, quiet=as_json)
    if as_json:
        body: dict[str, Any] = report.to_json()
        if move:
            body["moves"] = [_outcome_json(o) for o in outcomes]
        import json

        click.echo(json.dumps(body, indent=2))
    elif not move or not report.leaks:
        _print(report)
    moved = {o.move.finding for o in outcomes if o.moved}
    ctx.exit(1 if any(f not in moved for f in report.leaks) else 0)


def _print(report: Report) -> None:
    click.echo(f"interlock scan: {report.root} ({report.files} files, {report.seconds:.2f} s)")
    width = max((len(f.where) for f in report.findings), default=0)
    for finding in report.leaks:
        click.secho(_row(finding, width), fg="red")
    if report.decoys:
        click.echo("Interlock honeytokens, planted on purpose (decoys, not leaks):")
        for finding in report.decoys:
            click.echo(_row(finding, width))
    skipped = report.skipped
    if skipped.large_count:
        shown = ", ".join(skipped.large[:3]) + (", …" if skipped.large_count > 3 else "")
        click.secho(f"  not read: {skipped.large_count} file(s) over the size limit ({shown})")
    if skipped.binary or skipped.unreadable:
        click.echo(f"  not read: {skipped.binary} binary, {skipped.unreadable} unreadable file(s)")
    if report.leaks:
        click.secho(
            f"{report.summary()}. Move them into the broker: interlock scan --move "
            "(docs/scanner.md)",
            fg="yellow",
        )
    else:
        click.secho(report.summary() + ".", fg="green")


def _row(finding: Finding, width: int) -> str:
    name = f" ({finding.name})" if finding.name else ""
    return f"  {finding.where:<{width}}  {finding.label}{name}"


def _move(
    report: Report, base: Path, data_dir: Path, database_url: str | None, *, ask: bool, quiet: bool
) -> list[Outcome]:
    from interlock.scanner.moves import apply, plan

    store = _open_store(base, data_dir, database_url)
    moves = plan(report, store.names())
    planned = {m.finding for m in moves}
    chosen: list[Move] = []
    for move in moves:
        f = move.finding
        question = (
            f"Move {f.kind} at {f.where} into the broker as {move.credential} "
            f"(upstream {move.upstream})?"
        )
        if not ask or click.confirm(question, default=False):
            chosen.append(move)
    outcomes = apply(report, chosen, store)
    if not quiet:
        for outcome in outcomes:
            click.secho(outcome.message, fg="green" if outcome.moved else "red")
        for finding in report.leaks:
            if finding not in planned:
                click.secho(
                    f"{finding.where}: a {finding.label} cannot go into the broker (it holds "
                    "single-line header credentials): move it out of the project and rotate it",
                    fg="yellow",
                )
        moved = {o.move.upstream for o in outcomes if o.moved}
        http = sorted(moved - NOT_HTTP)
        if http:
            click.echo(
                "Agent sessions reach these upstreams through the gateway, with an Interlock "
                "token instead of the credential:\n"
                f'  eval "$(interlock env --env <environment> --upstream {" --upstream ".join(http)})"'
                "\n(docs/scanner.md, docs/broker.md)."
            )
        if moved & NOT_HTTP:
            click.echo(
                "Database URLs and URL passwords stay in the broker for the services and people "
                "that connect; agents get none."
            )
        if moved:
            click.secho("Rotate any credential an agent may already have read.", fg="yellow")
    return outcomes


def _open_store(base: Path, data_dir: Path, database_url: str | None) -> Any:
    """The broker's credentials, opened the way `interlock credential add` opens them."""
    from interlock.audit import AuditLog
    from interlock.broker import keys
    from interlock.broker.credentials import Credentials
    from interlock.server import db
    from interlock.server.settings import load

    settings = load(base, data_dir=str(data_dir), database_url=database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    engine = db.connect(settings.database_url)
    db.migrate(engine)
    key = keys.load(settings.data_dir, create=True)
    return Credentials(engine, key, audit=AuditLog(settings.data_dir / "audit.jsonl"))


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    finding = outcome.move.finding
    return {
        "file": finding.path,
        "line": finding.line,
        "kind": finding.kind,
        "credential": outcome.move.credential,
        "upstream": outcome.move.upstream,
        "moved": outcome.moved,
        "message": outcome.message,
    }
