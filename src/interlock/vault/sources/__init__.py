"""What the vault backs up, one module per kind of source: ``sqlite``, ``folders``.

Each ``backup_*`` streams the source into the repository chunk by chunk and commits the
manifest last; each ``restore_*`` refuses an existing target unless forced, and checks what it
wrote against what the manifest recorded before it puts it in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["read_pieces"]


def read_pieces(handle: BinaryIO, size: int) -> Iterator[bytes]:
    """``handle`` in pieces of ``size`` bytes (the last one shorter), never all at once."""
    while piece := handle.read(size):
        yield piece
