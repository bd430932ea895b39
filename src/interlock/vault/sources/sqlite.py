"""SQLite: a consistent copy through the online backup API, then streamed into the vault.

``sqlite3.Connection.backup`` copies pages under SQLite's own locking, so a database in use
(WAL or not) is captured as of one transaction; copying the file would not be. The copy goes to
a private temporary folder (0700) and is removed at once. Row counts per table are recorded
from the copy, so a restore (and later a drill) can check it got the same rows back.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

from interlock.vault.errors import VaultError, VaultIntegrityError
from interlock.vault.manifests import Manifest
from interlock.vault.repository import Advance, Repository, Snapshot, now
from interlock.vault.sources import read_pieces

__all__ = ["backup_sqlite", "restore_sqlite"]


def backup_sqlite(
    repository: Repository, path: Path, source: str, progress: Advance | None = None
) -> Snapshot:
    started = now()
    with tempfile.TemporaryDirectory(prefix="interlock-vault-") as scratch:
        copy = Path(scratch) / "copy.sqlite"
        _online_copy(Path(path), copy)
        tables = _row_counts(copy)
        with copy.open("rb") as handle:
            stream = repository.write_stream(read_pieces(handle, repository.chunk_size), progress)
    manifest = Manifest(
        source=source, kind="sqlite", started=started, finished=now(), stream=stream, tables=tables
    )
    return repository.commit(manifest)


def restore_sqlite(
    repository: Repository,
    snapshot: Snapshot,
    target: Path,
    *,
    force: bool,
    progress: Advance | None = None,
) -> None:
    """Write the database to ``target``, check it, then move it into place in one rename."""
    manifest = snapshot.manifest
    if manifest.kind != "sqlite" or manifest.stream is None:
        raise VaultError(f"snapshot {snapshot.id[:12]} is a {manifest.kind} backup, not SQLite")
    target = Path(target)
    if target.exists() and not force:
        raise VaultError(f"{target} exists; refusing to replace it", "pass --force to replace it")
    if Path(f"{target}-wal").exists():
        # A live or uncleanly closed database: its WAL would be replayed onto the restored file.
        raise VaultError(f"{target}-wal exists; stop what uses {target} before restoring over it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restore", dir=target.parent)
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            for piece in repository.read_stream(manifest.stream, progress):
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        _check_restored(partial, manifest, snapshot.id)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _online_copy(source: Path, copy: Path) -> None:
    if not source.is_file():
        raise VaultError(f"no SQLite database at {source}")
    try:
        uri = f"file:{quote(str(source.resolve()))}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as src, closing(sqlite3.connect(copy)) as dst:
            src.backup(dst)
    except sqlite3.Error as exc:
        raise VaultError(f"cannot back up {source}: {exc}") from None


def _row_counts(database: Path) -> dict[str, int]:
    with closing(sqlite3.connect(database)) as db:
        names = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " ORDER BY name"
            )
        ]
        quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
        return {
            n: int(db.execute(f"SELECT count(*) FROM {q}").fetchone()[0]) for n, q in quoted.items()
        }


def _check_restored(database: Path, manifest: Manifest, snapshot_id: str) -> None:
    try:
        with closing(sqlite3.connect(database)) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
        counts = _row_counts(database)
    except sqlite3.Error as exc:
        raise VaultIntegrityError(
            f"snapshot {snapshot_id[:12]} restored an unreadable database: {exc}"
        ) from None
    if verdict != "ok":
        raise VaultIntegrityError(
            f"snapshot {snapshot_id[:12]} restored a damaged database: {verdict}"
        )
    if counts != manifest.tables:
        raise VaultIntegrityError(
            f"snapshot {snapshot_id[:12]} restored other row counts than were backed up"
        )
