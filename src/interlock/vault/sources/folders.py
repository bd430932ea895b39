"""Folders: every file, folder and symbolic link under a root, with modes and hashes.

Files are streamed chunk by chunk (never read whole); links are recorded, never followed, so a
link out of the folder does not pull the rest of the disk into the backup. Sockets, pipes and
devices cannot be restored as data; they are listed in the manifest as skipped.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path, PurePosixPath

from interlock.vault.errors import VaultError, VaultIntegrityError
from interlock.vault.manifests import Entry, Manifest
from interlock.vault.repository import Advance, Repository, Snapshot, now
from interlock.vault.sources import read_pieces

__all__ = ["backup_folder", "restore_folder"]


def backup_folder(
    repository: Repository, root: Path, source: str, progress: Advance | None = None
) -> Snapshot:
    root = Path(root)
    if not root.is_dir():
        raise VaultError(f"no folder at {root}")
    started = now()
    entries: list[Entry] = []
    skipped: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        base = Path(folder)
        for name in [*dirs, *sorted(files)]:
            path = base / name
            relative = path.relative_to(root).as_posix()
            try:
                entry = _entry(repository, path, relative, progress)
            except OSError as exc:
                raise VaultError(f"cannot read {path}: {exc.strerror or exc}") from None
            if entry is None:
                skipped.append(relative)
            else:
                entries.append(entry)
    manifest = Manifest(
        source=source,
        kind="folder",
        started=started,
        finished=now(),
        entries=tuple(entries),
        skipped=tuple(skipped),
    )
    return repository.commit(manifest)


def _entry(
    repository: Repository, path: Path, relative: str, progress: Advance | None
) -> Entry | None:
    info = path.lstat()
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        return Entry(relative, "symlink", mode, target=os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return Entry(relative, "dir", mode)
    if not stat.S_ISREG(info.st_mode):
        return None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        stream = repository.write_stream(read_pieces(handle, repository.chunk_size), progress)
    return Entry(relative, "file", mode, stream=stream)


def restore_folder(
    repository: Repository,
    snapshot: Snapshot,
    target: Path,
    *,
    force: bool,
    progress: Advance | None = None,
) -> int:
    """Recreate the folder at ``target``; the number of files written."""
    manifest = snapshot.manifest
    if manifest.kind != "folder":
        raise VaultError(f"snapshot {snapshot.id[:12]} is a {manifest.kind} backup, not a folder")
    target = Path(target)
    if target.exists() and not force:
        raise VaultError(f"{target} exists; refusing to write into it", "pass --force to do so")
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    written = 0
    folders: list[tuple[Path, int]] = []
    for entry in manifest.entries:
        try:
            written += _restore_entry(repository, root, entry, folders, progress)
        except OSError as exc:
            raise VaultError(f"cannot restore {entry.path}: {exc.strerror or exc}") from None
    # Folder modes last and deepest first: a read-only folder would refuse its own files.
    for path, mode in reversed(folders):
        path.chmod(mode)
    return written


def _restore_entry(
    repository: Repository,
    root: Path,
    entry: Entry,
    folders: list[tuple[Path, int]],
    progress: Advance | None,
) -> int:
    """Restore one entry; 1 when it was a file."""
    path = _inside(root, entry.path)
    if entry.type == "dir":
        path.mkdir(exist_ok=True, mode=0o700)
        folders.append((path, entry.mode))
        return 0
    if entry.type == "symlink":
        if path.is_symlink() or path.exists():
            path.unlink()
        os.symlink(entry.target, path)
        return 0
    _restore_file(repository, entry, path, progress)
    return 1


def _inside(root: Path, relative: str) -> Path:
    """``root/relative``, refusing any path that would land outside ``root``."""
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or ".." in parts:
        raise VaultIntegrityError(f"the manifest names an unsafe path {relative!r}")
    path = root.joinpath(*parts)
    if path.parent.resolve() != path.parent or not path.parent.is_relative_to(root):
        # A parent is a link (restored earlier or already there): writing would leave root.
        raise VaultError(f"refusing to restore {relative!r} through a symbolic link")
    return path


def _restore_file(
    repository: Repository, entry: Entry, path: Path, progress: Advance | None
) -> None:
    assert entry.stream is not None
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".restore", dir=path.parent)
    partial = Path(name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as handle:
            for piece in repository.read_stream(entry.stream, progress):
                digest.update(piece)
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        if digest.hexdigest() != entry.stream.sha256:
            raise VaultIntegrityError(f"{entry.path} restored with another SHA-256 than backed up")
        partial.chmod(entry.mode)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
