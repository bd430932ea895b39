"""`interlock audit tail` and `interlock audit verify`: read the hash-chained audit log.

`tail` is what an on-call engineer runs first after an incident ("what did the agent do in
the last minutes?"); `verify` says whether that answer can be trusted (issue #2, item 7).
Both read the log of the current project (interlock.toml's root, else the git work tree) or
``--log PATH``. Records are masked when written; `tail` masks again when printing, so a log
written by an older or foreign writer still does not put a credential on the screen.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import click

from interlock.audit import default_log_path, parse_line, tail, verify
from interlock.secrets import mask, mask_json

_COLOURS = {"allow": "green", "ask": "yellow", "deny": "red"}
_POLL_SECONDS = 0.5

log_option = click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The audit log to read (default: $INTERLOCK_AUDIT_LOG, else .interlock/audit.jsonl "
    "in the project root).",
)


def resolve_log(log_path: Path | None) -> Path:
    if log_path is not None:
        return log_path
    from interlock.config import load_policy

    return default_log_path(load_policy(os.getcwd()).project_root)


@click.group("audit")
def audit() -> None:
    """Read and verify the hash-chained audit log of every decision."""


@audit.command("tail")
@click.option("-n", "--lines", "count", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON Lines.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing records as they are appended.")
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: tty).")
@log_option
def tail_command(
    count: int, as_json: bool, follow: bool, color: bool | None, log_path: Path | None
) -> None:
    """Print the last records, one line each: time, decision, agent, action, rule."""
    path = resolve_log(log_path)
    if not path.exists() and not follow:
        click.echo(f"no audit log at {path} yet", err=True)
        return
    for record in tail(path, count):
        click.echo(render(record, as_json=as_json), color=color)
    if follow:
        _follow(path, as_json=as_json, color=color)


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@log_option
@click.pass_context
def verify_command(ctx: click.Context, as_json: bool, log_path: Path | None) -> None:
    """Walk the hash chain; exit 0 when intact, 1 naming each problem."""
    path = resolve_log(log_path)
    report = verify(path)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "path": report.path,
                    "ok": report.ok,
                    "records": report.records,
                    "last_hash": report.last_hash,
                    "problems": [
                        {"kind": p.kind, "line": p.line, "id": p.record_id, "message": p.message}
                        for p in report.problems
                    ],
                    "notes": list(report.notes),
                }
            )
        )
    else:
        for note in report.notes:
            click.echo(f"note: {note}", err=True)
        if report.ok:
            click.echo(f"ok: {report.records} records, chain intact ({report.path})")
        else:
            click.secho(
                f"TAMPERED: {report.path}: {len(report.problems)} problem(s) "
                f"in {report.records} readable records",
                fg="red",
                bold=True,
            )
            for problem in report.problems:
                click.echo(f"  {problem}")
            click.echo("  hint: keep a copy of the log and its .head file, and investigate")
    ctx.exit(0 if report.ok else 1)


def render(record: dict[str, Any], *, as_json: bool) -> str:
    """One record as a line a person reads, or as masked JSON."""
    if as_json:
        return json.dumps(mask_json(record), ensure_ascii=False)
    if "unparseable" in record:
        return click.style(f"<unparseable line: {mask(str(record['unparseable']))}>", fg="red")
    action = record.get("action") if isinstance(record.get("action"), dict) else {}
    actor = record.get("actor") if isinstance(record.get("actor"), dict) else {}
    decision = str(record.get("decision", "?"))
    label = click.style(f"{decision.upper():5}", fg=_COLOURS.get(decision, "magenta"), bold=True)
    agent = str((actor or {}).get("agent") or "-")
    env = (action or {}).get("env")
    text = mask(str((action or {}).get("text", ""))).replace("\n", " ⏎ ")
    if len(text) > 160:
        text = text[:157] + "…"
    where = f" [{env}]" if env else ""
    rule = record.get("rule")
    tail_text = f"  ({rule})" if rule and decision != "allow" else ""
    return f"{record.get('time', '?')}  {label} {agent:<12}{where} {text}{tail_text}"


def _follow(path: Path, *, as_json: bool, color: bool | None) -> None:
    """Poll the file and print complete new lines; rotation or truncation starts over."""
    position = path.stat().st_size if path.exists() else 0
    pending = b""
    try:
        while True:
            time.sleep(_POLL_SECONDS)
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if size < position:
                click.echo("(the log got shorter: run `interlock audit verify`)", err=True)
                position, pending = 0, b""
            if size == position:
                continue
            with path.open("rb") as f:
                f.seek(position)
                chunk = f.read(size - position)
            position += len(chunk)
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for raw in complete:
                if raw.strip():
                    click.echo(render(parse_line(raw), as_json=as_json), color=color)
    except KeyboardInterrupt:
        return
