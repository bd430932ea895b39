"""Issue 7 §8: a backup killed half way is not listed; a full disk is a clear error."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from interlock.cli import cli
from interlock.vault import Repository, VaultFullError, verify
from interlock.vault.backends import Kind
from interlock.vault.backends.local import LocalBackend
from interlock.vault.sources.folders import backup_folder


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no handler sees it as an error."""


class DiesBeforeManifest(LocalBackend):
    """The process dies after every data object is durable, as the manifest is to be written."""

    def put(self, kind: Kind, name: str, data: bytes) -> None:
        if kind == "snapshots":
            raise Killed
        super().put(kind, name, data)


class FullDisk(LocalBackend):
    """A storage fault: the disk fills up after ``room`` bytes."""

    def __init__(self, root: Path, room: int) -> None:
        super().__init__(root)
        self.room = room

    def _write(self, fd: int, data: bytes) -> None:
        if len(data) > self.room:
            os.write(fd, data[: self.room])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        super()._write(fd, data)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(3):
        (folder / f"f{i}").write_bytes(os.urandom(3000))
    return folder


def test_a_backup_killed_before_its_manifest_is_not_listed(
    repository: Repository, vault_dir: Path, tmp_path: Path
) -> None:
    folder = _folder(tmp_path)
    dying = Repository(DiesBeforeManifest(vault_dir), repository.key)
    dying.chunk_size = repository.chunk_size
    with pytest.raises(Killed):
        backup_folder(dying, folder, "data")
    assert repository.backend.list("objects")  # the data got there
    assert repository.snapshots() == []
    listed = CliRunner().invoke(cli, ["vault", "list", "--vault", str(vault_dir)])
    assert listed.exit_code == 0 and listed.output == ""
    report = verify(repository)
    assert report.ok and report.unreferenced == len(repository.backend.list("objects"))
    # The next backup is whole and the only one listed.
    assert backup_folder(repository, folder, "data").id == repository.snapshots()[0].id


def test_a_full_disk_is_a_clear_error_and_leaves_no_backup(
    repository: Repository, vault_dir: Path, tmp_path: Path
) -> None:
    full = Repository(FullDisk(vault_dir, room=4000), repository.key)
    full.chunk_size = repository.chunk_size
    with pytest.raises(VaultFullError, match="out of space") as caught:
        backup_folder(full, _folder(tmp_path), "data")
    assert "no partial backup is listed" in caught.value.diagnostics()
    assert repository.snapshots() == []
    assert list((vault_dir / "tmp").iterdir()) == []  # the half-written blob was removed
    assert verify(repository).ok
