"""``interlock vault``: back up, list, verify and restore (docs/vault.md).

The vault is its own folder with its own key (``--vault`` / ``$INTERLOCK_VAULT``,
``$INTERLOCK_VAULT_KEY`` or ``<vault>/vault.key``); nothing here reads the broker's key or
Interlock's state folder, so the vault shares no credential with the gateway.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from interlock.vault import Snapshot, VaultError, open_vault, verify
from interlock.vault.progress import bar

_VAULT = click.option(
    "--vault",
    "vault_dir",
    envvar="INTERLOCK_VAULT",
    required=True,
    help="The vault: a folder, a `vault serve` URL or s3://bucket/prefix (default $INTERLOCK_VAULT).",
)


def _is_local(location: str) -> bool:
    return "://" not in location


@click.group()
def vault() -> None:
    """Backups in a store no agent path can delete."""


@vault.command("backup")
@_VAULT
@click.option("--sqlite", "sqlite_path", type=click.Path(path_type=Path), help="A SQLite database.")
@click.option("--folder", "folder_path", type=click.Path(path_type=Path), help="A folder.")
@click.option("--postgres", "postgres_url", metavar="URL", help="A PostgreSQL database (pg_dump).")
@click.option("--name", "source", required=True, help="The source's name in the vault.")
def backup(
    vault_dir: str,
    sqlite_path: Path | None,
    folder_path: Path | None,
    postgres_url: str | None,
    source: str,
) -> int:
    """Back up one source; its manifest is written only once all its data is stored."""
    if sum(x is not None for x in (sqlite_path, folder_path, postgres_url)) != 1:
        raise VaultError("give exactly one of --sqlite PATH, --folder PATH and --postgres URL")
    if not source.strip() or len(source) > 200:
        raise VaultError("--name must be a non-empty name of at most 200 characters")
    created = _is_local(vault_dir) and not (Path(vault_dir) / "config").exists()
    repository = open_vault(vault_dir, create=True)
    if created:
        click.echo(
            f"made a vault at {vault_dir} (key {repository.key.id} from {repository.key.source}); "
            "keep a copy of the key away from the vault, or a lost disk loses every backup",
            err=True,
        )
    began = time.monotonic()
    # On a terminal, a bar of bytes stored and their rate (the total is not known ahead).
    with bar(f"backup {source}", None) as progress:
        if sqlite_path is not None:
            from interlock.vault.sources.sqlite import backup_sqlite

            snapshot = backup_sqlite(repository, sqlite_path, source, progress)
        elif postgres_url is not None:
            from interlock.vault.sources.postgres import backup_postgres

            snapshot = backup_postgres(repository, postgres_url, source, progress)
        else:
            from interlock.vault.sources.folders import backup_folder

            assert folder_path is not None
            snapshot = backup_folder(repository, folder_path, source, progress)
    click.echo(f"snapshot {snapshot.id[:12]}: {_summary(snapshot, time.monotonic() - began)}")
    from interlock.config import find_config
    from interlock.vault.report import report_backup

    report_backup(find_config(Path.cwd()), snapshot)  # counts for the dashboard, when configured
    return 0


@vault.command("list")
@_VAULT
@click.option("--source", default=None, help="Only this source's backups.")
def list_command(vault_dir: str, source: str | None) -> int:
    """Every backup whose manifest is stored, oldest first."""
    for snapshot in open_vault(vault_dir).snapshots():
        manifest = snapshot.manifest
        if source is None or manifest.source == source:
            click.echo(
                f"{snapshot.id[:12]}  {manifest.finished[:19]}Z  {manifest.kind:<7} "
                f"{manifest.source}  {_size(manifest.size)}"
            )
    return 0


@vault.command("restore")
@_VAULT
@click.argument("snapshot_id", metavar="SNAPSHOT")
@click.option("--to", "target", type=click.Path(path_type=Path), help="Where (SQLite, folders).")
@click.option("--to-postgres", "postgres_url", metavar="URL", help="A new PostgreSQL database.")
@click.option("--force", is_flag=True, help="Replace an existing target.")
def restore(
    vault_dir: str, snapshot_id: str, target: Path | None, postgres_url: str | None, force: bool
) -> int:
    """Restore a backup to a new path or database, checked against what its manifest recorded."""
    repository = open_vault(vault_dir)
    snapshot = repository.find(snapshot_id)
    began = time.monotonic()
    if snapshot.manifest.kind == "postgres":
        if postgres_url is None:
            raise VaultError(f"snapshot {snapshot.id[:12]} is PostgreSQL: give --to-postgres URL")
        from interlock.vault.sources.postgres import Target, restore_postgres

        with bar(f"restore {snapshot.id[:12]}", snapshot.manifest.size) as progress:
            restore_postgres(repository, snapshot, postgres_url, force=force, progress=progress)
        where = f"database {Target.parse(postgres_url).dbname}"
        click.echo(
            f"restored {snapshot.id[:12]} to {where}: {_summary(snapshot, time.monotonic() - began)}"
        )
        return 0
    if target is None:
        raise VaultError(
            f"snapshot {snapshot.id[:12]} is a {snapshot.manifest.kind} backup: give --to PATH"
        )
    if snapshot.manifest.kind not in ("sqlite", "folder"):
        raise VaultError(f"restoring {snapshot.manifest.kind} backups is not built yet")
    with bar(f"restore {snapshot.id[:12]}", snapshot.manifest.size) as progress:
        if snapshot.manifest.kind == "sqlite":
            from interlock.vault.sources.sqlite import restore_sqlite

            restore_sqlite(repository, snapshot, target, force=force, progress=progress)
        else:
            from interlock.vault.sources.folders import restore_folder

            restore_folder(repository, snapshot, target, force=force, progress=progress)
    click.echo(
        f"restored {snapshot.id[:12]} to {target}: {_summary(snapshot, time.monotonic() - began)}"
    )
    return 0


@vault.command("drill")
@_VAULT
@click.option("--source", default=None, help="Only this source (default: every source).")
@click.option("--random", "pick_random", is_flag=True, help="A random backup, not the newest.")
@click.option(
    "--window",
    metavar="DURATION",
    default=None,
    help="Only backups finished this recently (e.g. 7d); a source with none fails.",
)
@click.option(
    "--postgres",
    "postgres_url",
    metavar="URL",
    envvar="INTERLOCK_VAULT_DRILL_PG",
    help="Server for scratch databases (default $INTERLOCK_VAULT_DRILL_PG).",
)
def drill(
    vault_dir: str,
    source: str | None,
    pick_random: bool,
    window: str | None,
    postgres_url: str | None,
) -> int:
    """Restore backups into scratch targets, check them, log RTO and RPO; exit 1 on a failure."""
    from interlock.config import find_config
    from interlock.vault.drills import LOG_NAME, choose, load_assertions, run_drill
    from interlock.vault.report import report_drill
    from interlock.vault.settings import duration

    repository = open_vault(vault_dir)
    config = find_config(Path.cwd())
    failed = 0
    seconds = None if window is None else duration(window, "--window")
    for snapshot in choose(repository, source, pick_random=pick_random, window=seconds):
        name = snapshot.manifest.source
        result = run_drill(
            repository,
            snapshot,
            postgres_url=postgres_url,
            assertions=load_assertions(config, name),
            log=Path(vault_dir) / LOG_NAME if _is_local(vault_dir) else None,
        )
        state = "ok" if result.ok else f"FAILED: {result.error}"
        click.echo(
            f"drill {name} {snapshot.id[:12]} ({result.kind}, {result.assertions} assertion(s)): "
            f"RTO {result.rto_seconds:.2f} s, RPO {result.rpo_seconds:.0f} s: {state}",
            err=not result.ok,
        )
        failed += not result.ok
        report_drill(config, result)  # vault/report.py: the dashboard, and an alert on a failure
    return 1 if failed else 0


@vault.command("verify")
@_VAULT
def verify_command(vault_dir: str) -> int:
    """Check every object against its name and every backup's references; exit 1 on any problem."""
    with bar("verify", None) as progress:
        report = verify(open_vault(vault_dir), progress)
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


def _summary(snapshot: Snapshot, seconds: float) -> str:
    manifest = snapshot.manifest
    rate = manifest.size / seconds if seconds > 0 else 0.0
    what = f"{len(manifest.tables)} table(s)" if manifest.kind in ("sqlite", "postgres") else ""
    if manifest.kind == "folder":
        what = f"{sum(e.type == 'file' for e in manifest.entries)} file(s)"
    return (
        f"{manifest.source} ({manifest.kind}, {what}), {_size(manifest.size)} "
        f"in {seconds:.2f} s ({_size(int(rate))}/s)"
    )


def _size(count: int) -> str:
    for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


# Each component's commands live in a module of their own and are registered here.
from interlock.cli import vault_admin, vault_schedule, vault_serve, vault_snapshotter  # noqa: E402

for _module in (vault_serve, vault_admin, vault_schedule, vault_snapshotter):
    for _command in _module.COMMANDS:
        vault.add_command(_command)
