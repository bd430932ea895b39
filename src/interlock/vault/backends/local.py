"""A vault in a local folder (the vault's own data folder, not the application's)::

    <vault>/config            plaintext: format version, key id, chunk size
    <vault>/objects/ab/ab12…  sealed data chunks, named by the SHA-256 of the stored bytes
    <vault>/snapshots/cd34…   sealed manifests, named the same way
    <vault>/tmp/              blobs being written; leftovers are from interrupted writes
    <vault>/vault.key         the key, mode 0600, when INTERLOCK_VAULT_KEY is not set

Every blob is written to ``tmp/``, fsynced, hard-linked to its name (which fails when the
name exists, so nothing is ever overwritten, even by two writers racing) and its folder
fsynced, as litestream and restic do: after ``put`` returns the blob survives a power cut, and
a write cut short leaves only a file in ``tmp/``. Stored files are mode 0400.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from interlock.vault.backends import Kind, ObjectExists
from interlock.vault.errors import VaultError, VaultFullError

__all__ = ["LocalBackend"]

_FULL = {errno.ENOSPC, errno.EDQUOT}


class LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def location(self) -> str:
        return str(self.root)

    def path(self, kind: Kind, name: str) -> Path:
        _check_name(name)
        if kind == "config":
            return self.root / "config"
        if kind == "objects":
            return self.root / "objects" / name[:2] / name
        return self.root / kind / name

    def put(self, kind: Kind, name: str, data: bytes) -> None:
        final = self.path(kind, name)
        if final.exists():
            raise ObjectExists(name)
        temporary = self.root / "tmp" / f"{name[:16]}.{os.getpid()}.{os.urandom(4).hex()}"
        try:
            self._ensure_dir(temporary.parent)
            self._ensure_dir(final.parent)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            try:
                self._write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(temporary, final)
            except FileExistsError:
                raise ObjectExists(name) from None
            _fsync_dir(final.parent)
        except OSError as exc:
            raise _storage_error(exc, self.location) from None
        finally:
            temporary.unlink(missing_ok=True)

    def get(self, kind: Kind, name: str) -> bytes:
        return self.path(kind, name).read_bytes()

    def exists(self, kind: Kind, name: str) -> bool:
        return self.path(kind, name).exists()

    def leftovers(self) -> list[str]:
        """Files in ``tmp/``: blobs whose write was cut short (harmless, never referenced)."""
        base = self.root / "tmp"
        return sorted(p.name for p in base.iterdir()) if base.is_dir() else []

    def list(self, kind: Kind) -> list[str]:
        if kind == "config":
            return ["config"] if (self.root / "config").exists() else []
        base = self.root / kind
        if not base.is_dir():
            return []
        if kind == "objects":
            return sorted(p.name for p in base.glob("*/*") if p.is_file())
        return sorted(p.name for p in base.iterdir() if p.is_file())

    def _write(self, fd: int, data: bytes) -> None:
        """Write all of ``data``; the one place bytes reach the disk (a storage-fault seam)."""
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def _ensure_dir(self, folder: Path) -> None:
        if folder.is_dir():
            return
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        # A new folder's entry must be durable too, or a fsynced blob in it can vanish.
        _fsync_dir(folder.parent)


def _check_name(name: str) -> None:
    if name == "config":
        return
    if len(name) != 64 or any(c not in "0123456789abcdef" for c in name):
        raise VaultError(f"not a vault object name: {name[:80]!r}")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _storage_error(exc: OSError, location: str) -> VaultError:
    if exc.errno in _FULL:
        return VaultFullError(f"the vault at {location} is out of space ({exc.strerror})")
    return VaultError(f"cannot write to the vault at {location}: {exc.strerror or exc}")
