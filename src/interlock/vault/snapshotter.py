"""The pre-destroy snapshotter: the one small process that holds the vault key (issue 7 item 7).

The approval server and the gateway must never hold the vault key ("AES-GCM with a key the
gateway and agents never hold"), yet an approved destructive action has to wait for a fresh
backup of what it destroys. So they ask this service, with a *trigger token* that can do one
thing: ask for a backup of a source configured in ``[vault.sources]``. It cannot name a database
of its own, read, list or delete anything in the vault.

API (one JSON error shape, ``{"error": {"code", "message"}}``):

- ``POST /v1/snapshots`` with ``Authorization: Bearer <trigger token>`` and
  ``{"source": "app", "reason": "…", "request_id": "req_…"}``: runs the source's backup
  (PostgreSQL, SQLite or folder, exactly as ``interlock vault backup``) to the end and answers
  ``201 {"snapshot", "source", "finished", "size", "seconds", "shared"}``; ``401`` for a missing or
  wrong token, ``404`` for a source not configured, ``400`` for a malformed body, ``502`` with
  the error when the backup fails (no manifest was written: nothing partial is listed).
- ``GET /health``: ``{"ok": true}`` (no token: it says nothing).

One backup at a time per source: a request that arrives while one runs waits for it, then takes
its own, unless a backup of that source *started after the request arrived* has succeeded
meanwhile; that one already holds everything the request wanted kept, and is shared.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock import keyfile
from interlock.secrets import mask
from interlock.vault.errors import VaultError, describe
from interlock.vault.report import Reporter, point_in_time
from interlock.vault.repository import Snapshot, open_vault
from interlock.vault.settings import SourceSettings, VaultSettings

__all__ = [
    "DEFAULT_LISTEN",
    "FILE_ENV",
    "TOKEN_ENV",
    "Snapshotter",
    "Taken",
    "build_app",
    "hash_token",
    "trigger_token",
]

TOKEN_ENV = "INTERLOCK_SNAPSHOT_TOKEN"
FILE_ENV = "INTERLOCK_SNAPSHOT_TOKEN_FILE"
DEFAULT_LISTEN = "127.0.0.1:8476"
MIN_TOKEN = 24
"""Characters a trigger token needs at least: it guards a service that can load a database."""
MAX_BODY = 16_384


def trigger_token() -> str | None:
    """The trigger token from ``$INTERLOCK_SNAPSHOT_TOKEN`` or the private file (0600) named by
    ``$INTERLOCK_SNAPSHOT_TOKEN_FILE``; None when neither is set. The snapshotter and the
    server read the same variables."""
    value = os.environ.get(TOKEN_ENV, "").strip()
    named = os.environ.get(FILE_ENV, "").strip()
    if not value and named:
        value = keyfile.read_private(
            Path(named).expanduser(),
            "snapshot trigger token file",
            VaultError,
            f"chmod 600 {named} and make a new token: this one may have been read",
        ).strip()
    if not value:
        return None
    if len(value) < MIN_TOKEN:
        raise VaultError(
            f"the snapshot trigger token is shorter than {MIN_TOKEN} characters",
            'make one with `python3 -c "import secrets; print(secrets.token_urlsafe(32))"`',
        )
    return value


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Taken:
    """One finished backup, as the API reports it."""

    snapshot: str
    source: str
    finished: str
    size: int
    seconds: float
    started_at: float  # the wall clock when the backup began (what sharing compares with)

    def to_json(self, *, shared: bool) -> dict[str, object]:
        return {
            "snapshot": self.snapshot,
            "source": self.source,
            "finished": self.finished,
            "size": self.size,
            "seconds": round(self.seconds, 3),
            "shared": shared,
        }


Backup = Callable[[str, SourceSettings], Snapshot]


def run_backup(location: str, source: SourceSettings) -> Snapshot:
    """The source's backup into the vault at ``location``, as ``interlock vault backup`` runs it."""
    repository = open_vault(location, create=True)
    if source.kind == "postgres":
        from interlock.vault.sources.postgres import backup_postgres

        return backup_postgres(repository, source.target, source.name)
    if source.kind == "sqlite":
        from interlock.vault.sources.sqlite import backup_sqlite

        return backup_sqlite(repository, Path(source.target), source.name)
    from interlock.vault.sources.folders import backup_folder

    return backup_folder(repository, Path(source.target), source.name)


@dataclass
class Snapshotter:
    """Backups on request, one at a time per source."""

    settings: VaultSettings
    location: str
    backup: Backup = run_backup
    report: Reporter | None = None
    """Tells the approval server (vault/report.py): the source's newest backup, or its error."""
    clock: Callable[[], float] = time.time
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _last: dict[str, Taken] = field(default_factory=dict)

    async def snapshot(self, name: str) -> tuple[Taken, bool]:
        """A backup of source ``name`` begun no earlier than this call; (taken, shared)."""
        source = self.settings.sources[name]
        arrived = self.clock()
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            last = self._last.get(name)
            if last is not None and last.started_at >= arrived:
                return last, True
            started, began = self.clock(), time.monotonic()
            try:
                snapshot = await run_in_threadpool(self.backup, self.location, source)
            except Exception as exc:
                # Recorded on the source's row; the server pages for the held action itself
                # (vault.predestroy_failed), so no second alert here.
                if self.report is not None:
                    report, error = self.report, describe(exc, 500)
                    await run_in_threadpool(
                        lambda: report.backup_failed(
                            name, source.kind, error, source.rpo_seconds, alert=False
                        )
                    )
                raise
            if self.report is not None:
                manifest = snapshot.manifest
                await run_in_threadpool(
                    self.report.backup_ok,
                    name,
                    source.kind,
                    snapshot.id,
                    point_in_time(manifest.started),
                    manifest.size,
                    source.rpo_seconds,
                )
            taken = Taken(
                snapshot.id,
                name,
                snapshot.manifest.finished,
                snapshot.manifest.size,
                time.monotonic() - began,
                started,
            )
            self._last[name] = taken
            return taken, False


def build_app(
    settings: VaultSettings,
    location: str,
    token_hash: str,
    *,
    backup: Backup = run_backup,
    log: Callable[[str], None] | None = print,
    report: Reporter | None = None,
) -> Starlette:
    """The snapshotter's ASGI app. ``token_hash`` is :func:`hash_token` of the trigger token:
    the process compares hashes and keeps no copy of the token it was given."""
    snapshotter = Snapshotter(settings, location, backup, report)

    def say(line: str) -> None:
        if log is not None:
            log(mask(line))

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def snapshots(request: Request) -> Response:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            hash_token(presented.strip()), token_hash
        ):
            return _error(401, "unauthenticated", "send the trigger token: Authorization: Bearer …")
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return _error(413, "too_large", f"the body is over {MAX_BODY} bytes")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _error(400, "bad_request", "send a JSON object: source, reason, request_id")
        name, reason, request_id = (
            data.get("source"),
            data.get("reason", ""),
            data.get("request_id"),
        )
        if not isinstance(name, str) or not isinstance(reason, str):
            return _error(400, "bad_request", "source and reason must be strings")
        if request_id is not None and not isinstance(request_id, str):
            return _error(400, "bad_request", "request_id must be a string")
        if name not in settings.sources:
            known = ", ".join(sorted(settings.sources)) or "none"
            return _error(404, "unknown_source", f"no source {name!r} in [vault.sources] ({known})")
        why = f" for {request_id[:64]}" if request_id else ""
        say(f"snapshot of {name}{why}: {reason[:300]}")
        try:
            taken, shared = await snapshotter.snapshot(name)
        except Exception as exc:  # every failure is the caller's answer: the action must not run
            message = describe(exc, 500)
            say(f"snapshot of {name}{why} FAILED: {message}")
            return _error(502, "backup_failed", message)
        say(
            f"snapshot of {name}{why}: {taken.snapshot[:12]}, {taken.size} bytes in "
            f"{taken.seconds:.2f} s{' (shared)' if shared else ''}"
        )
        return JSONResponse(taken.to_json(shared=shared), status_code=201)

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/v1/snapshots", snapshots, methods=["POST"]),
        ]
    )


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
