"""What a backup is: a manifest naming every chunk it needs, in the order to read them.

A manifest is sealed like the data (it holds file and table names) and stored under
``snapshots/`` only after every chunk it names is durable: a manifest is the one thing that
makes a backup exist, so a backup cut short is never listed (docs/vault.md, write order).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from interlock.vault.errors import VaultIntegrityError

__all__ = ["Chunk", "Entry", "Manifest", "SourceKind", "Stream"]

# 2: PostgreSQL checksums may be "hash:<sum>" (sources/postgres.py); format 1 still reads.
FORMAT = 2
_READS = (1, 2)
SourceKind = Literal["sqlite", "folder", "postgres"]
_SOURCE_KINDS = ("sqlite", "folder", "postgres")


@dataclass(frozen=True)
class Chunk:
    """One stored object: its name (SHA-256 of the sealed bytes) and what it decrypts to."""

    object: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Stream:
    """A byte stream cut into fixed-size chunks, with the whole stream's size and SHA-256."""

    size: int
    sha256: str
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True)
class Entry:
    """One file, folder or symbolic link of a folder backup, ``path`` relative to its root."""

    path: str
    type: Literal["file", "dir", "symlink"]
    mode: int
    stream: Stream | None = None
    target: str = ""


@dataclass(frozen=True)
class Manifest:
    source: str
    kind: SourceKind
    started: str
    finished: str
    stream: Stream | None = None
    entries: tuple[Entry, ...] = ()
    tables: dict[str, int] = field(default_factory=dict)
    # Per-table content checksums (PostgreSQL), taken in the same snapshot as the row counts.
    checksums: dict[str, str] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        streams = [self.stream] if self.stream else [e.stream for e in self.entries if e.stream]
        return sum(s.size for s in streams)

    def chunks(self) -> Iterator[Chunk]:
        """Every chunk the backup needs, in stream order (repeats included)."""
        if self.stream:
            yield from self.stream.chunks
        for entry in self.entries:
            if entry.stream:
                yield from entry.stream.chunks

    def to_bytes(self) -> bytes:
        body: dict[str, Any] = {
            "format": FORMAT,
            "source": self.source,
            "kind": self.kind,
            "started": self.started,
            "finished": self.finished,
            "stream": _stream_json(self.stream),
            "entries": [_entry_json(e) for e in self.entries],
            "tables": self.tables,
            "checksums": self.checksums,
            "skipped": list(self.skipped),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes, name: str) -> Manifest:
        """Parse a decrypted manifest; a shape this version does not know is an error."""
        try:
            body = json.loads(data)
            if body["format"] not in _READS:
                raise VaultIntegrityError(
                    f"snapshot {name} has format {body['format']!r}; this Interlock reads {FORMAT}",
                    "upgrade Interlock to read this vault",
                )
            if body["kind"] not in _SOURCE_KINDS:
                raise ValueError(body["kind"])
            return cls(
                source=str(body["source"]),
                kind=body["kind"],
                started=str(body["started"]),
                finished=str(body["finished"]),
                stream=_stream(body["stream"]),
                entries=tuple(_entry(e) for e in body["entries"]),
                tables={str(k): int(v) for k, v in body["tables"].items()},
                checksums={str(k): str(v) for k, v in body.get("checksums", {}).items()},
                skipped=tuple(str(s) for s in body["skipped"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise VaultIntegrityError(
                f"snapshot {name} is not a readable manifest ({exc!r})"
            ) from None


def _stream_json(stream: Stream | None) -> dict[str, Any] | None:
    if stream is None:
        return None
    return {
        "size": stream.size,
        "sha256": stream.sha256,
        "chunks": [[c.object, c.size, c.sha256] for c in stream.chunks],
    }


def _stream(body: Any) -> Stream | None:
    if body is None:
        return None
    chunks = tuple(Chunk(str(o), int(n), str(h)) for o, n, h in body["chunks"])
    return Stream(int(body["size"]), str(body["sha256"]), chunks)


def _entry_json(entry: Entry) -> dict[str, Any]:
    body: dict[str, Any] = {"path": entry.path, "type": entry.type, "mode": entry.mode}
    if entry.stream:
        body["stream"] = _stream_json(entry.stream)
    if entry.target:
        body["target"] = entry.target
    return body


def _entry(body: Any) -> Entry:
    if body["type"] not in ("file", "dir", "symlink"):
        raise ValueError(body["type"])
    return Entry(
        path=str(body["path"]),
        type=body["type"],
        mode=int(body["mode"]),
        stream=_stream(body.get("stream")),
        target=str(body.get("target", "")),
    )
