"""Retention: backups locked until keep_within, locks that only grow, removal refused while
locked (by the local backend itself), and `interlock vault retention`."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from interlock.cli import cli
from interlock.vault import Repository, open_local
from interlock.vault.backends import Lockable, ObjectLocked
from interlock.vault.backends.local import LocalBackend
from interlock.vault.errors import VaultError
from interlock.vault.retention import DEFAULT_KEEP_WITHIN, finished
from interlock.vault.sources.folders import backup_folder

DAY = 86400.0


def _folder(tmp_path: Path, name: str = "data") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for i in range(3):
        (folder / f"f{i}").write_bytes(os.urandom(2500))
    return folder


def test_a_committed_backup_is_locked_until_finished_plus_keep_within(
    repository: Repository, tmp_path: Path
) -> None:
    repository.keep_within = lambda source: {"app": 7 * DAY}.get(source, DEFAULT_KEEP_WITHIN)
    app = backup_folder(repository, _folder(tmp_path), "app")
    other = backup_folder(repository, _folder(tmp_path, "other"), "other")
    backend = repository.backend
    assert isinstance(backend, Lockable)
    end = finished(app.manifest) + timedelta(days=7)
    assert backend.locked_until("snapshots", app.id) == end
    objects = {c.object for c in app.manifest.chunks()}
    assert len(objects) >= 3
    assert {backend.locked_until("objects", name) for name in objects} == {end}
    # A source the config does not name keeps the default, 30 days.
    assert backend.locked_until("snapshots", other.id) == finished(other.manifest) + timedelta(
        days=30
    )


def test_keep_within_comes_from_interlock_toml(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "interlock.toml"
    config.write_text(
        f'[vault]\nlocation = "{vault_dir}"\n'
        f'[vault.sources.app]\nfolder = "{tmp_path / "data"}"\nkeep_within = "90d"\n'
    )
    monkeypatch.setenv("INTERLOCK_CONFIG", str(config))
    repository = open_local(vault_dir, create=True)
    snapshot = backup_folder(repository, _folder(tmp_path), "app")
    assert isinstance(repository.backend, Lockable)
    assert repository.backend.locked_until("snapshots", snapshot.id) == finished(
        snapshot.manifest
    ) + timedelta(days=90)


def test_a_lock_cannot_be_shortened_and_refuses_removal(
    repository: Repository, vault_dir: Path, tmp_path: Path
) -> None:
    snapshot = backup_folder(repository, _folder(tmp_path), "app")
    backend = repository.backend
    assert isinstance(backend, LocalBackend)
    end = backend.locked_until("snapshots", snapshot.id)
    assert end is not None
    with pytest.raises(ObjectLocked, match="would shorten it"):
        backend.extend_lock("snapshots", snapshot.id, end - timedelta(seconds=1))
    assert backend.locked_until("snapshots", snapshot.id) == end
    # Lengthening works, and the earlier record stays (write-once): the latest is in force.
    backend.extend_lock("snapshots", snapshot.id, end + timedelta(days=1))
    assert backend.locked_until("snapshots", snapshot.id) == end + timedelta(days=1)
    assert len(list((vault_dir / "locks" / "snapshots" / snapshot.id).iterdir())) == 2
    with pytest.raises(ObjectLocked, match="locked until"):
        backend.remove("snapshots", snapshot.id)
    chunk = next(snapshot.manifest.chunks()).object
    with pytest.raises(ObjectLocked):
        backend.remove("objects", chunk)
    assert backend.exists("snapshots", snapshot.id) and backend.exists("objects", chunk)
    # A fresh backend with a clock past the lock may remove; the lock records go with it.
    later = LocalBackend(vault_dir, clock=lambda: (end + timedelta(days=1, seconds=1)).timestamp())
    later.remove("objects", chunk)
    assert not later.exists("objects", chunk)
    assert later.locked_until("objects", chunk) is None
    with pytest.raises(VaultError, match="never removed"):
        later.remove("config", "config")


def test_a_lock_needs_a_stored_name_and_a_time_zone(repository: Repository) -> None:
    backend = repository.backend
    assert isinstance(backend, LocalBackend)
    with pytest.raises(VaultError, match="not in the vault"):
        backend.extend_lock("snapshots", "ab" * 32, datetime.now(UTC))
    with pytest.raises(VaultError, match="time zone"):
        backend.extend_lock("snapshots", "ab" * 32, datetime.now())


def test_an_unreadable_lock_record_is_an_error_not_no_lock(
    repository: Repository, vault_dir: Path, tmp_path: Path
) -> None:
    snapshot = backup_folder(repository, _folder(tmp_path), "app")
    (vault_dir / "locks" / "snapshots" / snapshot.id / "forever").write_text("")
    with pytest.raises(VaultError, match="not a lock record"):
        repository.backend.remove("snapshots", snapshot.id)  # type: ignore[attr-defined]
    assert repository.backend.exists("snapshots", snapshot.id)


def test_the_retention_command_lists_locks_and_eligibility(
    vault_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "interlock.toml"
    config.write_text(  # "old" is kept one second: past it almost at once
        f'[vault.sources.old]\nfolder = "{tmp_path / "data"}"\nkeep_within = "1s"\n'
        f'[vault.sources.young]\nfolder = "{tmp_path / "young"}"\n'
    )
    monkeypatch.setenv("INTERLOCK_CONFIG", str(config))
    repository = open_local(vault_dir, create=True)
    old = backup_folder(repository, _folder(tmp_path), "old")
    young = backup_folder(repository, _folder(tmp_path, "young"), "young")
    time.sleep(1.1)
    result = CliRunner().invoke(cli, ["vault", "retention", "--vault", str(vault_dir)])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    assert "eligible" in lines[old.id[:12]]
    assert "kept" in lines[young.id[:12]] and "30d" in lines[young.id[:12]]
