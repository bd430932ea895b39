"""Where the vault's bytes live. One module per backend, each with the same four methods.

The interface has no delete and no overwrite: ``put`` writes a name once, and a name that
exists is refused by the backend itself, not only by the caller. Removing a backup will be an
admin operation outside this interface (issue 7, not built yet), so no writer, and no code
holding a :class:`Backend`, can take a backup away.

Kinds: ``config`` (one plaintext file, ``config``), ``objects`` (sealed data chunks) and
``snapshots`` (sealed manifests), each name the SHA-256 of the stored bytes.
"""

from __future__ import annotations

from typing import Literal, Protocol

__all__ = ["Backend", "Kind", "ObjectExists"]

Kind = Literal["config", "objects", "snapshots"]


class ObjectExists(Exception):
    """``put`` of a name that is already stored; the caller decides whether that is fine."""


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
