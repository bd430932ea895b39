"""The vault's repository: sealed write-once objects, and manifests that make backups exist.

Write order (the invariant everything else leans on, as in restic's design):

1. every data chunk of a backup is sealed and stored (``put`` returns only once it is
   durable);
2. then, and never before, the manifest naming them is sealed and stored under
   ``snapshots/``.

A backup killed anywhere before step 2 leaves objects nothing refers to and no manifest, so
``list`` never shows it. Names are the SHA-256 of the *stored* (sealed) bytes, not of the
plaintext, so that (a) ``verify`` and a future keyless ``vault serve`` can check every object
against its name without the key, and refuse an upload whose name is wrong; (b) names reveal
nothing about content (a plaintext hash would let anyone who can list the vault confirm that
a known file is in it). The cost is no deduplication across backups (nonces are random); each
chunk's plaintext SHA-256 is kept in the manifest instead, where only the key opens it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from interlock.vault import keys, retention
from interlock.vault.backends import Backend, ObjectExists
from interlock.vault.backends.local import LocalBackend
from interlock.vault.blobs import MAX_PLAINTEXT, seal, unseal
from interlock.vault.errors import VaultError, VaultIntegrityError, VaultKeyError
from interlock.vault.keys import VaultKey
from interlock.vault.manifests import Chunk, Manifest, Stream

__all__ = [
    "CHUNK_SIZE",
    "WORKERS",
    "Advance",
    "Repository",
    "Snapshot",
    "now",
    "open_local",
    "open_vault",
]

# Fixed-size chunks: simple and fast; content-defined chunking (restic's) would add
# deduplication, which names of sealed bytes give up anyway (see the module docstring).
CHUNK_SIZE = 4 * 1024 * 1024
# Threads sealing (or opening) chunks while the stream is read (or consumed); 3 kept two cores
# busy in bench/vault.py (docs/performance.md, the vault).
WORKERS = 3
_FORMAT = "interlock-vault"
_VERSION = 1
_Stored = Literal["objects", "snapshots"]
# Told the number of plaintext bytes each time a chunk is stored or read (progress bars).
Advance = Callable[[int], object]


@dataclass(frozen=True)
class Snapshot:
    """A backup: its id (the manifest's object name) and its manifest."""

    id: str
    manifest: Manifest


class Repository:
    def __init__(self, backend: Backend, key: VaultKey) -> None:
        self.backend = backend
        self.key = key
        self.chunk_size = CHUNK_SIZE
        self.workers = WORKERS
        # Seconds each source's backups stay locked (retention.py); callers may replace it.
        self.keep_within: retention.KeepWithin = retention.configured_keep_within()

    def init_or_check(self, *, create: bool) -> None:
        """Check the config (format, key id); with ``create``, write it when there is none."""
        if not self.backend.exists("config", "config"):
            if not create:
                raise VaultError(
                    f"no vault at {self.backend.location}",
                    "make one with a first `interlock vault backup`, or pass the right --vault",
                )
            config = {
                "format": _FORMAT,
                "version": _VERSION,
                "key_id": self.key.id,
                "chunk_size": self.chunk_size,
                "created": now(),
            }
            # Another first backup may have made it at the same time; it is checked below.
            with contextlib.suppress(ObjectExists):
                self.backend.put("config", "config", json.dumps(config, indent=2).encode())
        self._check_config()

    def _check_config(self) -> None:
        try:
            config = json.loads(self.backend.get("config", "config"))
            format_, version, key_id = config["format"], config["version"], config["key_id"]
            self.chunk_size = int(config["chunk_size"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise VaultError(
                f"the vault config at {self.backend.location} is unreadable: {exc!r}"
            ) from None
        if format_ != _FORMAT or version != _VERSION:
            raise VaultError(f"{self.backend.location} is not a version {_VERSION} vault")
        if key_id != self.key.id:
            raise VaultKeyError(
                f"this vault was made with key {key_id}; the key from {self.key.source} is {self.key.id}"
            )
        if not 0 < self.chunk_size <= MAX_PLAINTEXT:
            raise VaultError(f"the vault config has a bad chunk size {self.chunk_size}")

    # -- writing ------------------------------------------------------------------------

    def put_chunk(self, plaintext: bytes) -> Chunk:
        blob = seal(self.key, "data", plaintext)
        name = hashlib.sha256(blob).hexdigest()
        self._put_once("objects", name, blob)
        return Chunk(name, len(plaintext), hashlib.sha256(plaintext).hexdigest())

    def write_stream(self, pieces: Iterable[bytes], progress: Advance | None = None) -> Stream:
        """Store a stream given in pieces of at most ``chunk_size`` bytes, in order.

        Pieces are sealed and stored by ``workers`` threads (zstd, AES-GCM, SHA-256 and the
        disk all release the GIL) while the caller's iterator reads the next ones, at most
        ``2 * workers`` pieces ahead: reading the source, sealing and writing overlap, memory
        stays bounded, and the chunks are listed in stream order whatever order they finish in.
        The first failure stops the stream; pieces not yet started are dropped, those being
        written finish, and the error is raised (no manifest names any of them).
        """
        whole = hashlib.sha256()
        chunks: list[Chunk] = []
        size = 0
        pending: deque[Future[Chunk]] = deque()
        # Made at the second piece: a one-chunk stream (most files of a folder) is stored
        # inline, without starting threads for it.
        pool: ThreadPoolExecutor | None = None
        first: bytes | None = None
        try:
            for piece in pieces:
                whole.update(piece)
                size += len(piece)
                if pool is None:
                    if first is None:
                        first = piece
                        continue
                    pool = ThreadPoolExecutor(self.workers, thread_name_prefix="vault-seal")
                    pending.append(pool.submit(self.put_chunk, first))
                pending.append(pool.submit(self.put_chunk, piece))
                while len(pending) > 2 * self.workers or (pending and pending[0].done()):
                    chunks.append(_stored(pending.popleft(), progress))
            while pending:
                chunks.append(_stored(pending.popleft(), progress))
            if pool is None and first is not None:
                chunks.append(_stored(self.put_chunk(first), progress))
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return Stream(size, whole.hexdigest(), tuple(chunks))

    def commit(self, manifest: Manifest) -> Snapshot:
        """Store the manifest: the last write of a backup, after all its chunks (step 2).

        Its objects are locked before it is written and it right after (retention.py)."""
        blob = seal(self.key, "manifest", manifest.to_bytes())
        name = hashlib.sha256(blob).hexdigest()
        end = retention.until(manifest, self.keep_within(manifest.source))
        retention.lock_objects(self.backend, manifest, end)
        self._put_once("snapshots", name, blob)
        retention.lengthen(self.backend, "snapshots", name, end)
        return Snapshot(name, manifest)

    def _put_once(self, kind: _Stored, name: str, blob: bytes) -> None:
        try:
            self.backend.put(kind, name, blob)
        except ObjectExists:
            # Same name, so the same bytes if the stored copy is intact: skip, but only after
            # checking it, or a damaged copy would silently stand in for the new one.
            stored = self.backend.get(kind, name)
            if hashlib.sha256(stored).hexdigest() != name:
                raise VaultIntegrityError(
                    f"{kind[:-1]} {name} exists in the vault but its content is damaged"
                ) from None

    # -- reading ------------------------------------------------------------------------

    def snapshots(self) -> list[Snapshot]:
        """Every backup whose manifest opens, oldest first (``verify`` reports the rest)."""
        found = [self.load(name) for name in self.backend.list("snapshots")]
        return sorted(found, key=lambda s: (s.manifest.finished, s.id))

    def load(self, name: str) -> Snapshot:
        blob = self._get("snapshots", name)
        if hashlib.sha256(blob).hexdigest() != name:
            raise VaultIntegrityError(f"snapshot {name} does not match its name (altered)")
        return Snapshot(name, Manifest.from_bytes(unseal(self.key, "manifest", blob, name), name))

    def find(self, prefix: str) -> Snapshot:
        """The one snapshot whose id starts with ``prefix`` (at least 6 characters)."""
        prefix = prefix.strip().lower()
        if len(prefix) < 6:
            raise VaultError(
                "give at least 6 characters of the snapshot id (`interlock vault list`)"
            )
        names = [n for n in self.backend.list("snapshots") if n.startswith(prefix)]
        if not names:
            raise VaultError(f"no snapshot {prefix} in the vault at {self.backend.location}")
        if len(names) > 1:
            raise VaultError(f"{prefix} matches {len(names)} snapshots; give more characters")
        return self.load(names[0])

    def read_chunk(self, chunk: Chunk) -> bytes:
        blob = self._get("objects", chunk.object)
        if hashlib.sha256(blob).hexdigest() != chunk.object:
            raise VaultIntegrityError(f"object {chunk.object} does not match its name (altered)")
        plaintext = unseal(self.key, "data", blob, chunk.object)
        if len(plaintext) != chunk.size or hashlib.sha256(plaintext).hexdigest() != chunk.sha256:
            raise VaultIntegrityError(f"object {chunk.object} is not the chunk its manifest names")
        return plaintext

    def read_stream(
        self, stream: Stream, progress: Advance | None = None
    ) -> Generator[bytes, None, None]:
        """The stream's bytes, chunk by chunk, in order; each chunk checked before it is yielded.

        ``workers`` threads fetch, check and open the next chunks (at most ``2 * workers``
        ahead) while the caller uses the current one. Closing the iterator early (a consumer
        that stopped) drops what was fetched ahead.
        """
        if len(stream.chunks) < 2:
            for only in stream.chunks:
                yield _opened(self.read_chunk(only), progress)
            return
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="vault-open")
        pending: deque[Future[bytes]] = deque()
        upcoming = iter(stream.chunks)
        try:
            while True:
                while len(pending) < 2 * self.workers and (ahead := next(upcoming, None)):
                    pending.append(pool.submit(self.read_chunk, ahead))
                if not pending:
                    return
                yield _opened(pending.popleft().result(), progress)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _get(self, kind: _Stored, name: str) -> bytes:
        try:
            return self.backend.get(kind, name)
        except FileNotFoundError:
            raise VaultIntegrityError(f"{kind[:-1]} {name} is missing from the vault") from None
        except OSError as exc:
            raise VaultError(f"cannot read {kind[:-1]} {name}: {exc.strerror or exc}") from None


def open_local(path: Path, *, create: bool = False) -> Repository:
    """The vault in folder ``path`` with its key; ``create`` makes both on first use."""
    path = Path(path).expanduser()
    if not create and not (path / "config").exists():
        raise VaultError(
            f"no vault at {path}",
            "make one with a first `interlock vault backup`, or pass the right --vault",
        )
    repository = Repository(LocalBackend(path), keys.load(path, create=create))
    repository.init_or_check(create=create)
    return repository


def open_vault(location: str | Path, *, create: bool = False) -> Repository:
    """The vault at ``location``: a folder, ``http(s)://…`` (a ``vault serve``, writer token in
    ``$INTERLOCK_VAULT_TOKEN``) or ``s3://bucket/prefix`` (Object Lock, docs/vault.md)."""
    text = str(location)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if not scheme:
        return open_local(Path(text), create=create)
    # One module per backend, each with ``from_url(url) -> Backend``; loaded only when used.
    module = {"http": "rest", "https": "rest", "s3": "s3"}.get(scheme)
    if module is None:
        raise VaultError(f"unknown vault location {scheme}://…: give a folder, http(s):// or s3://")
    backend: Backend = importlib.import_module(f"interlock.vault.backends.{module}").from_url(text)
    repository = Repository(backend, keys.load(None, create=create))
    repository.init_or_check(create=create)
    return repository


def _stored(done: Chunk | Future[Chunk], progress: Advance | None) -> Chunk:
    chunk = done.result() if isinstance(done, Future) else done
    if progress is not None:
        progress(chunk.size)
    return chunk


def _opened(plaintext: bytes, progress: Advance | None) -> bytes:
    if progress is not None:
        progress(len(plaintext))
    return plaintext


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
