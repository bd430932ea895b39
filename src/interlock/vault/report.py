"""What the vault's jobs tell the approval server: one row per source, and alerts.

``interlock vault schedule``, ``vault backup``, ``vault drill`` and the snapshotter report each
outcome here. A :class:`Reporter` writes into the Interlock server's own database (the one
``interlock serve`` uses, found from the same interlock.toml: ``[server] database_url``, or
SQLite in its data folder):

- an upsert of the source's ``vault_sources`` row (newest good backup, last drill, last
  verified restore; metadata only, never a key or a byte of backed-up data);
- for an alert, an ``events`` row exactly as the server's own alerts write it (``request_id``
  null, ``detail`` with a one-line ``summary``), which every replica's notifier reads and sends
  (messages.ALERTS gives each ``vault.*`` kind its severity), and a record in the server's audit
  log when that log is on this machine.

A backup must not fail because the dashboard is down: with no server database reachable a
Reporter prints one warning to stderr and carries on (it tries again at the next report, and
warns again only after it has worked in between). The server's own freshness checks
(server/vault_status.py) notice a source nobody reports on.

Every string written is masked (:func:`interlock.secrets.mask`): pg_dump's errors can carry a
connection URL with its password.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from interlock.secrets import mask, mask_json
from interlock.vault.drills import DrillResult
from interlock.vault.repository import Snapshot
from interlock.vault.settings import span

__all__ = [
    "Reporter",
    "for_source",
    "from_config",
    "point_in_time",
    "report_backup",
    "report_drill",
]

_ERROR_LIMIT = 2000
_SUMMARY_LIMIT = 900

Clock = Callable[[], float]


def point_in_time(started: str) -> float:
    """A manifest's ``started`` (ISO 8601, UTC) as seconds since the epoch."""
    return datetime.fromisoformat(started).timestamp()


class Reporter:
    """Writes the vault's outcomes into the server's database; never raises for its own sake.

    ``url`` None makes a Reporter that records nothing (no interlock.toml: no server to tell).
    """

    def __init__(
        self,
        url: str | None,
        *,
        audit_path: Path | None = None,
        clock: Clock = time.time,
        where: str = "",
    ) -> None:
        self.url = url
        self.audit_path = audit_path
        self.clock = clock
        self.where = where or "the Interlock server's database"
        self._engine: Engine | None = None
        self._warned = False

    def __repr__(self) -> str:
        return f"Reporter({self.where!r})"

    # --- what the jobs call -------------------------------------------------------------------

    def backup_ok(
        self,
        source: str,
        kind: str,
        snapshot_id: str,
        point_in_time: float,
        size: int,
        target_rpo: float | None,
    ) -> None:
        """A good backup of ``source`` (its data is from ``point_in_time``)."""

        def write(conn: Connection, row: Any, now: float) -> dict[str, Any]:
            values: dict[str, Any] = {"last_backup_attempt_at": now, "last_backup_error": ""}
            # A slower backup finishing after a newer one (a pre-destroy snapshot racing the
            # schedule) does not make the source look older than it is.
            if row.newest_backup_at is None or point_in_time >= row.newest_backup_at:
                values.update(
                    newest_snapshot=snapshot_id,
                    newest_backup_at=point_in_time,
                    newest_backup_size=size,
                )
            return values

        self._upsert(source, kind, target_rpo, write)

    def backup_failed(
        self, source: str, kind: str, error: str, target_rpo: float | None, *, alert: bool = True
    ) -> None:
        """A failed backup: recorded on the row, and (``alert``) a ``vault.backup_failed``
        alert. The scheduler alerts on the first failure of a run of them, then hourly."""
        error = _clip(mask(error), _ERROR_LIMIT)
        raised: list[dict[str, Any]] = []

        def write(conn: Connection, row: Any, now: float) -> dict[str, Any]:
            if alert:  # in the row's transaction: the row and its alert land together
                age = None if row.newest_backup_at is None else now - row.newest_backup_at
                standing = (
                    "no good backup of it exists"
                    if age is None
                    else f"its newest good backup is {span(age)} old"
                )
                target = f" (target RPO {span(target_rpo)})" if target_rpo else ""
                summary = (
                    f"vault: backup of {source} ({kind}) failed: {_first_line(error)}; "
                    f"{standing}{target}"
                )
                detail = {
                    "source": source,
                    "source_kind": kind,
                    "error": error,
                    "newest_backup_age_seconds": None if age is None else round(age, 1),
                    "target_rpo_seconds": target_rpo,
                }
                raised.append(self._event(conn, "vault.backup_failed", summary, detail, now))
            return {"last_backup_attempt_at": now, "last_backup_error": error}

        if self._upsert(source, kind, target_rpo, write):
            for body in raised:
                self._audit("vault.backup_failed", "vault", body)

    def drill(
        self, result: DrillResult, target_rpo: float | None = None, *, alert: bool = True
    ) -> None:
        """A drill's outcome: a passed one is the source's last verified restore; a failed one
        is (``alert``) a ``vault.drill_failed`` alert."""
        error = _clip(mask(result.error), _ERROR_LIMIT)
        backed_up = point_in_time(result.backed_up)
        raised: list[dict[str, Any]] = []

        def write(conn: Connection, row: Any, now: float) -> dict[str, Any]:
            if alert and not result.ok:
                summary = (
                    f"vault: restore drill of {result.source} ({result.kind}) failed on backup "
                    f"{result.snapshot[:12]}: {_first_line(error)}"
                )
                detail = {
                    "source": result.source,
                    "source_kind": result.kind,
                    "snapshot": result.snapshot,
                    "error": error,
                    "rto_seconds": result.rto_seconds,
                    "backed_up": result.backed_up,
                }
                raised.append(self._event(conn, "vault.drill_failed", summary, detail, now))
            values: dict[str, Any] = {
                "last_drill_at": now,
                "last_drill_ok": result.ok,
                "last_drill_error": error,
                "last_rto_seconds": result.rto_seconds,
                "last_rpo_seconds": result.rpo_seconds,
            }
            if result.ok:
                values.update(last_verified_at=now, last_verified_snapshot=result.snapshot)
                # A backup that restored is a good backup, whoever made it.
                if row.newest_backup_at is None or backed_up > row.newest_backup_at:
                    values.update(newest_snapshot=result.snapshot, newest_backup_at=backed_up)
            return values

        if self._upsert(result.source, result.kind, target_rpo, write):
            for body in raised:
                self._audit("vault.drill_failed", "vault", body)

    def alert(self, kind: str, summary: str, detail: dict[str, Any], actor: str = "vault") -> None:
        """An ``events`` row of ``kind`` (notified when messages.ALERTS names it) and an audit
        record. ``summary`` is cut to one line."""
        engine = self._connect()
        if engine is None:
            return
        from interlock.server import db

        try:
            with db.transaction(engine) as conn:
                body = self._event(conn, kind, summary, detail, self.clock(), actor)
        except sa.exc.SQLAlchemyError as exc:
            self._warn(exc)
            return
        self._warned = False
        self._audit(kind, actor, body)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- inside -------------------------------------------------------------------------------

    def _event(
        self,
        conn: Connection,
        kind: str,
        summary: str,
        detail: dict[str, Any],
        at: float,
        actor: str = "vault",
    ) -> dict[str, Any]:
        """Insert the ``events`` row, as server/alerts.py does; returns its (masked) detail."""
        from interlock.server import db

        body: dict[str, Any] = mask_json(dict(detail))
        body["summary"] = _clip(_first_line(mask(summary)), _SUMMARY_LIMIT)
        db.insert_event(conn, at=at, kind=kind[:40], actor=actor[:200], detail=body)
        return body

    def _upsert(
        self,
        source: str,
        kind: str,
        target_rpo: float | None,
        values: Callable[[Connection, Any, float], dict[str, Any]],
    ) -> bool:
        """Create the row if missing, lock it, and update it with ``values(conn, row, now)``."""
        engine = self._connect()
        if engine is None:
            return False
        from interlock.server import db

        table = db.vault_sources
        now = self.clock()
        try:
            with db.transaction(engine) as conn:
                insert = _insert_ignoring(conn)(table).values(
                    source=source, kind=kind, updated_at=now
                )
                conn.execute(insert.on_conflict_do_nothing(index_elements=["source"]))
                query = sa.select(table).where(table.c.source == source)
                if conn.dialect.name == "postgresql":
                    query = query.with_for_update()
                row = conn.execute(query).one()
                changes = values(conn, row, now)
                changes.update(kind=kind, updated_at=now)
                if target_rpo is not None:  # a manual run without a config knows no target
                    changes["target_rpo_seconds"] = target_rpo
                conn.execute(table.update().where(table.c.source == source).values(**changes))
        except sa.exc.SQLAlchemyError as exc:
            self._warn(exc)
            return False
        self._warned = False
        return True

    def _connect(self) -> Engine | None:
        if self.url is None:
            return None
        if self._engine is not None:
            return self._engine
        from interlock.errors import InterlockError
        from interlock.server import db

        try:
            if self.url.startswith("sqlite:///"):
                Path(self.url[len("sqlite:///") :]).parent.mkdir(
                    parents=True, exist_ok=True, mode=0o700
                )
            engine = db.connect(self.url)
            db.migrate(engine)
        except (sa.exc.SQLAlchemyError, InterlockError, OSError) as exc:
            self._warn(exc)
            return None
        self._engine = engine
        return engine

    def _audit(self, kind: str, actor: str, detail: dict[str, Any]) -> None:
        """The server's audit log, when it is on this machine (its data folder exists)."""
        if self.audit_path is None or not self.audit_path.parent.is_dir():
            return
        from interlock.audit import AuditLog
        from interlock.errors import InterlockError

        try:
            AuditLog(self.audit_path).append(
                {"type": "alert", "event": kind, "actor": {"name": actor}, "detail": detail}
            )
        except InterlockError as exc:
            self._warn(exc)

    def _warn(self, exc: BaseException) -> None:
        if self._warned:
            return
        self._warned = True
        reason = _first_line(mask(str(exc))) or type(exc).__name__
        print(
            f"interlock vault: warning: cannot record the vault's status in {self.where} "
            f"({_clip(reason, 300)}); the dashboard and alerts will not show it until it can",
            file=sys.stderr,
        )


def from_config(config: Path | None) -> Reporter:
    """The Reporter for the server that reads ``config`` (interlock.toml): its ``[server]
    database_url`` (or ``$INTERLOCK_DATABASE_URL``), else SQLite in its data folder. No config:
    a Reporter that records nothing."""
    if config is None:
        return Reporter(None)
    from interlock.config import find_config
    from interlock.errors import InterlockError
    from interlock.server import settings as server_settings

    try:
        # The server finds its settings from a folder, as `interlock serve` run there would.
        read = find_config(config.parent)
        if read is None or read.resolve() != config.resolve():
            raise InterlockError(
                f"the server settings for {config.parent} come from {read or 'no file'}, "
                f"not {config}: name the file interlock.toml or set INTERLOCK_CONFIG to it"
            )
        found = server_settings.load(config.parent)
    except InterlockError as exc:
        reporter = Reporter(None, where=str(config))
        reporter._warn(exc)
        return reporter
    where = (
        f"{found.data_dir / 'interlock.db'}"
        if found.database_url.startswith("sqlite")
        else _host_of(found.database_url)
    )
    return Reporter(
        found.database_url, audit_path=found.data_dir / "audit.jsonl", where=f"server db {where}"
    )


def for_source(config: Path | None, source: str) -> tuple[Reporter, float | None]:
    """For a manual ``vault backup`` or ``vault drill``: the Reporter of ``config``'s server
    and the source's target RPO when ``config``'s ``[vault]`` names ``source``; otherwise a
    Reporter that records nothing. A broken ``[vault]`` is a warning here, never a failed
    manual backup (the schedule, which needs it, refuses it)."""
    from interlock.vault.errors import VaultError
    from interlock.vault.settings import load

    if config is None:
        return Reporter(None), None
    try:
        found = load(config).sources.get(source)
    except VaultError as exc:
        reporter = Reporter(None, where=str(config))
        reporter._warn(exc)
        return reporter, None
    if found is None:
        return Reporter(None), None
    return from_config(config), found.rpo_seconds


def report_backup(config: Path | None, snapshot: Snapshot) -> None:
    """A manual backup counts towards its source's freshness (when ``config`` names it)."""
    manifest = snapshot.manifest
    reporter, rpo = for_source(config, manifest.source)
    with reporter:
        reporter.backup_ok(
            manifest.source,
            manifest.kind,
            snapshot.id,
            point_in_time(manifest.started),
            manifest.size,
            rpo,
        )


def report_drill(config: Path | None, result: DrillResult) -> None:
    """A manual drill counts (and a failed one alerts) when ``config`` names its source."""
    reporter, rpo = for_source(config, result.source)
    with reporter:
        reporter.drill(result, rpo)


def _insert_ignoring(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _host_of(url: str) -> str:
    """A database URL without its credentials: the host and database only."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return "(the configured database_url)"
    return f"{parsed.host or 'localhost'}/{parsed.database or ''}"


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[0] + (f" (+{len(lines) - 1} more line(s))" if len(lines) > 1 else "")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
