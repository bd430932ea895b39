"""Where the vault's bytes live. One module per backend, each with the same four methods.

The interface has no delete and no overwrite: ``put`` writes a name once, and a name that
exists is refused by the backend itself, not only by the caller. Removal is in a separate
interface, :class:`Lockable`, used only by the admin's purge (``vault/deletion.py``) after a
cooling-off; a backend refuses it itself while a name is locked, and a lock can only be
lengthened (S3 Object Lock in compliance mode; write-once lock records in a folder).

Kinds: ``config`` (one plaintext file, ``config``), ``objects`` (sealed data chunks) and
``snapshots`` (sealed manifests), each name the SHA-256 of the stored bytes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from interlock.vault.errors import VaultError

__all__ = ["Backend", "Kind", "Lockable", "ObjectExists", "ObjectLocked"]

Kind = Literal["config", "objects", "snapshots"]


class ObjectExists(Exception):
    """``put`` of a name that is already stored; the caller decides whether that is fine."""


class ObjectLocked(VaultError):
    """``remove`` of a name whose lock is still in force, or a lock that would be shortened."""

    hint = (
        "a backup is kept until its lock expires (its source's keep_within, docs/vault.md); "
        "nobody, admin or not, can remove it or shorten its lock before then"
    )


class Backend(Protocol):
    """A write-once store of named blobs (local folder now; S3 with Object Lock later)."""

    @property
    def location(self) -> str:
        """Where the vault is, for messages (a path or a URL without credentials)."""
        ...

    def put(self, kind: Kind, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` durably, or raise :class:`ObjectExists`.

        When it returns, the blob survives a crash; when it raises, nothing is visible
        under ``name``.
        """
        ...

    def get(self, kind: Kind, name: str) -> bytes:
        """The stored bytes; ``FileNotFoundError`` when there is no such name."""
        ...

    def exists(self, kind: Kind, name: str) -> bool: ...

    def list(self, kind: Kind) -> list[str]:
        """Every stored name of that kind, sorted."""
        ...


@runtime_checkable
class Lockable(Protocol):
    """Retention locks that only ever grow, and removal the backend itself refuses while
    locked (AWS S3 Object Lock in compliance mode is the model).

    Times are timezone-aware UTC datetimes. A backend MUST enforce both rules itself, not
    trust its caller: a shorter ``until`` and a ``remove`` while locked raise
    :class:`ObjectLocked`, whoever asks.
    """

    def locked_until(self, kind: Kind, name: str) -> datetime | None:
        """When the lock on ``name`` ends (it may already be past); ``None``: never locked."""
        ...

    def extend_lock(self, kind: Kind, name: str, until: datetime) -> None:
        """Lock ``name`` until ``until``; an ``until`` before the current lock's end is
        :class:`ObjectLocked` (a lock never shortens); an equal one is a no-op."""
        ...

    def remove(self, kind: Kind, name: str) -> None:
        """Remove ``name``; :class:`ObjectLocked` while its lock is in force,
        ``FileNotFoundError`` when there is no such name."""
        ...
