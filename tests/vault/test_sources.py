"""SQLite and folder backups against real SQLite files and real folders, restored and checked."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from interlock.vault import Repository, VaultError, verify
from interlock.vault.sources.folders import backup_folder, restore_folder
from interlock.vault.sources.sqlite import backup_sqlite, restore_sqlite


def _database(path: Path, rows: int) -> Path:
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute('CREATE TABLE "order items" (id INTEGER PRIMARY KEY, note TEXT)')
        db.executemany(
            'INSERT INTO "order items" (note) VALUES (?)',
            [(os.urandom(20).hex(),) for _ in range(rows)],
        )
        db.commit()
    return path


def _digest(path: Path) -> str:
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute('SELECT id, note FROM "order items" ORDER BY id').fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_sqlite_backup_of_a_live_wal_database_restores_the_same_rows(
    repository: Repository, tmp_path: Path
) -> None:
    source = _database(tmp_path / "app.db", 500)
    with closing(sqlite3.connect(source)) as writer:  # open, with committed rows in its WAL
        writer.execute('INSERT INTO "order items" (note) VALUES (?)', ("last",))
        writer.commit()
        snapshot = backup_sqlite(repository, source, "app")
    assert snapshot.manifest.tables == {"order items": 501}
    assert len(snapshot.manifest.stream.chunks) > 1  # type: ignore[union-attr]

    target = tmp_path / "restored" / "app.db"
    restore_sqlite(repository, snapshot, target, force=False)
    assert _digest(target) == _digest(source)
    with pytest.raises(VaultError, match="exists; refusing"):
        restore_sqlite(repository, snapshot, target, force=False)
    restore_sqlite(repository, snapshot, target, force=True)
    assert verify(repository).ok


def test_a_missing_or_non_sqlite_source_is_a_clear_error(
    repository: Repository, tmp_path: Path
) -> None:
    with pytest.raises(VaultError, match="no SQLite database"):
        backup_sqlite(repository, tmp_path / "nope.db", "app")
    (tmp_path / "text.db").write_text("not a database " * 100)
    with pytest.raises(VaultError, match="cannot back up"):
        backup_sqlite(repository, tmp_path / "text.db", "app")
    assert repository.snapshots() == []


def test_folder_round_trip_keeps_contents_modes_and_links(
    repository: Repository, tmp_path: Path
) -> None:
    source = tmp_path / "site"
    (source / "uploads" / "deep").mkdir(parents=True)
    (source / "uploads" / "deep" / "big.bin").write_bytes(os.urandom(5000))
    (source / "secret.env").write_text("TOKEN=x\n")
    (source / "secret.env").chmod(0o600)
    (source / "empty").mkdir()
    os.symlink("secret.env", source / "current")
    os.symlink("/etc", source / "outside")  # recorded, never followed
    os.mkfifo(source / "pipe")

    snapshot = backup_folder(repository, source, "site")
    assert snapshot.manifest.skipped == ("pipe",)
    assert not any(e.path.startswith("outside/") for e in snapshot.manifest.entries)

    target = tmp_path / "back"
    assert restore_folder(repository, snapshot, target, force=False) == 2
    assert (target / "uploads" / "deep" / "big.bin").read_bytes() == (
        source / "uploads" / "deep" / "big.bin"
    ).read_bytes()
    assert (target / "secret.env").stat().st_mode & 0o777 == 0o600
    assert os.readlink(target / "current") == "secret.env"
    assert os.readlink(target / "outside") == "/etc"
    assert (target / "empty").is_dir()
    with pytest.raises(VaultError, match="exists; refusing"):
        restore_folder(repository, snapshot, target, force=False)


def test_restore_refuses_to_write_through_a_link_in_the_target(
    repository: Repository, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    (source / "conf").mkdir(parents=True)
    (source / "conf" / "app.ini").write_text("x")
    snapshot = backup_folder(repository, source, "src")
    target = tmp_path / "dst"
    target.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, target / "conf")
    with pytest.raises(VaultError):
        restore_folder(repository, snapshot, target, force=True)
    assert not (elsewhere / "app.ini").exists()
