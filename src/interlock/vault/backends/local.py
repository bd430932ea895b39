"""A vault in a local folder (the vault's own data folder, not the application's)::

    <vault>/config            plaintext: format version, key id, chunk size
    <vault>/objects/ab/ab12…  sealed data chunks, named by the SHA-256 of the stored bytes
    <vault>/snapshots/cd34…   sealed manifests, named the same way
    <vault>/tmp/              blobs being written; leftovers are from interrupted writes
    <vault>/vault.key         the key, mode 0600, when INTERLOCK_VAULT_KEY is not set
    <vault>/locks/<kind>/<name>/<until>   write-once lock records; the latest is in force

Every blob is written to ``tmp/``, fsynced, hard-linked to its name (which fails when the
name exists, so nothing is ever overwritten, even by two writers racing) and its folder
fsynced, as litestream and restic do: after ``put`` returns the blob survives a power cut, and
a write cut short leaves only a file in ``tmp/``. Stored files are mode 0400.

Locks (:class:`~interlock.vault.backends.Lockable`) are empty files named by the time they
end (``20270101T000000.000000Z``, so names sort by time), made with ``O_EXCL`` and never
changed: a lock is lengthened by adding a later record, and the lock in force is the latest
one. Nothing removes a record while it is in force, so no record can shorten a lock;
``remove`` checks it first. As with the rest of this backend, the rule is kept by this code
and file modes, not the kernel: the vault's folder belongs to another user or host
(docs/vault.md, threat model).
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from interlock.vault.backends import Kind, ObjectExists, ObjectLocked
from interlock.vault.errors import VaultError, VaultFullError

__all__ = ["LocalBackend"]

_FULL = {errno.ENOSPC, errno.EDQUOT}
_LOCK_FORMAT = "%Y%m%dT%H%M%S.%fZ"


class LocalBackend:
    def __init__(self, root: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.root = Path(root)
        # Only ``remove`` reads the clock: tests pass a fake one to step past a lock.
        self.clock = clock

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

    # -- locks and removal (Lockable) ---------------------------------------------------

    def locked_until(self, kind: Kind, name: str) -> datetime | None:
        folder = self._lock_dir(kind, name)
        if not folder.is_dir():
            return None
        ends = [_lock_time(folder, p.name) for p in folder.iterdir()]
        return max(ends) if ends else None

    def extend_lock(self, kind: Kind, name: str, until: datetime) -> None:
        if until.tzinfo is None:
            raise VaultError("a lock's end must carry a time zone (UTC)")
        until = until.astimezone(UTC)
        if not self.exists(kind, name):
            raise VaultError(f"cannot lock {kind[:-1]} {name}: it is not in the vault")
        current = self.locked_until(kind, name)
        if current is not None and until < current:
            raise ObjectLocked(
                f"{kind[:-1]} {name} is locked until {_iso(current)}; "
                f"a lock until {_iso(until)} would shorten it"
            )
        if current == until:
            return
        folder = self._lock_dir(kind, name)
        try:
            self._ensure_dir(folder)
            fd = os.open(folder / until.strftime(_LOCK_FORMAT), os.O_WRONLY | os.O_CREAT, 0o400)
            os.close(fd)
            _fsync_dir(folder)
        except OSError as exc:
            raise _storage_error(exc, self.location) from None

    def remove(self, kind: Kind, name: str) -> None:
        if kind == "config":
            raise VaultError("the vault's config is never removed")
        target = self.path(kind, name)
        until = self.locked_until(kind, name)
        now = datetime.fromtimestamp(self.clock(), UTC)
        if until is not None and until > now:
            raise ObjectLocked(f"{kind[:-1]} {name} is locked until {_iso(until)}")
        try:
            target.unlink()
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise VaultError(f"cannot remove {kind[:-1]} {name}: {exc.strerror or exc}") from None
        _fsync_dir(target.parent)
        # The lock is over (checked above); its records go after the blob, never before.
        folder = self._lock_dir(kind, name)
        if folder.is_dir():
            for record in folder.iterdir():
                record.unlink(missing_ok=True)
            folder.rmdir()

    def _lock_dir(self, kind: Kind, name: str) -> Path:
        _check_name(name)
        return self.root / "locks" / kind / name

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


def _lock_time(folder: Path, record: str) -> datetime:
    """The end of a lock record. Anything else in a lock folder is an error, not skipped:
    a lock that cannot be read must not read as no lock."""
    try:
        return datetime.strptime(record, _LOCK_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise VaultError(
            f"{folder / record} is not a lock record",
            "something other than Interlock wrote in the vault's locks/ folder: find out "
            "what before removing anything",
        ) from None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


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
