"""``interlock vault``: back up, list, verify and restore (docs/vault.md).

The vault is its own folder with its own key (``--vault`` / ``$INTERLOCK_VAULT``,
``$INTERLOCK_VAULT_KEY`` or ``<vault>/vault.key``); nothing here reads the broker's key or
Interlock's state folder, so the vault shares no credential with the gateway.
"""

from __future__ import annotations

from pathlib import Path

import click

from interlock.vault import open_local, verify

_VAULT = click.option(
    "--vault",
    "vault_dir",
    envvar="INTERLOCK_VAULT",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The vault's folder (default $INTERLOCK_VAULT).",
)


@click.group()
def vault() -> None:
    """Backups in a store no agent path can delete."""


@vault.command("verify")
@_VAULT
def verify_command(vault_dir: Path) -> int:
    """Check every object against its name and every backup's references; exit 1 on any problem."""
    report = verify(open_local(vault_dir))
    for problem in report.problems:
        click.echo(problem)
    notes = []
    if report.unreferenced:
        notes.append(f"{report.unreferenced} unreferenced (from backups cut short)")
    if report.leftovers:
        notes.append(f"{report.leftovers} partial writes in tmp/")
    tail = f"; {', '.join(notes)}" if notes else ""
    state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
    click.echo(
        f"{report.snapshots} snapshot(s), {report.objects} object(s), "
        f"{_size(report.bytes)} checked{tail}: {state}",
        err=not report.ok,
    )
    return 0 if report.ok else 1


def _size(count: int) -> str:
    for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"
