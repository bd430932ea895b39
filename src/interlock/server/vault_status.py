"""The server's own watch over the vault: alerts that do not depend on the jobs they watch.

``interlock vault schedule`` reports each backup and drill (vault/report.py), and a failure
pages. A scheduler that died, or was never started, reports nothing at all; so every 60 s (and
at start) the server reads ``vault_sources`` and raises, per source:

- ``vault.stale`` when its newest good backup is older than its target RPO (or it has none);
- ``vault.no_drill`` when no drill has passed for 26 hours (issue 7 §6: GitLab restores its
  backups twice a day), or none ever has while the source has had backups for 26 hours;

each once, until it clears (then a ``vault.recovered`` event, severity info). What has been
raised is kept in the database (``vault_checks``, migration 7), checked and written in one
transaction under a lock (PostgreSQL advisory lock 8473; SQLite's write lock), so two replicas
never both page. The alert is an ``events`` row as the server's other alerts are (alerts.py),
which every replica's notifier sends (messages.ALERTS), and an audit record.

``GET /api/v1/vault/sources`` (an approver's session, like ``/api/v1/requests``): every
source's row with its ages at the server's clock and whether each check is failing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlock.secrets import mask
from interlock.server import db
from interlock.server.app import API, State, approver, register_background, register_routes
from interlock.server.app import state_of as _state_of
from interlock.vault.settings import span

__all__ = ["INTERVAL", "NO_DRILL_SECONDS", "Raised", "check", "check_and_alert", "sources"]

INTERVAL = 60.0
NO_DRILL_SECONDS = 26 * 3600.0
_LOCK = 8473
ACTOR = "vault-watch"

logger = logging.getLogger("interlock.server.vault_status")


@dataclass(frozen=True)
class Raised:
    """One event :func:`check` wrote: an alert, or a recovery."""

    kind: str
    detail: dict[str, Any]


def check(engine: Engine, now: float) -> list[Raised]:
    """Compare every source with its targets at ``now``; write (and return) the events due."""
    raised: list[Raised] = []
    with db.transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        seen = {r.source: r for r in conn.execute(sa.select(db.vault_checks))}
        for row in conn.execute(sa.select(db.vault_sources).order_by(db.vault_sources.c.source)):
            raised.extend(_check_one(conn, row, seen.get(row.source), now))
        for item in raised:
            db.insert_event(conn, at=now, kind=item.kind, actor=ACTOR, detail=item.detail)
    return raised


def _check_one(conn: Connection, row: Any, seen: Any, now: float) -> list[Raised]:
    first = seen.first_backup_at if seen is not None else None
    if row.newest_backup_at is not None and (first is None or row.newest_backup_at < first):
        first = row.newest_backup_at
    stale_since = seen.stale_since if seen is not None else None
    no_drill_since = seen.no_drill_since if seen is not None else None
    raised: list[Raised] = []

    stale = _stale(row, now)
    if stale is not None and stale_since is None:
        raised.append(Raised("vault.stale", stale))
        stale_since = now
    elif stale is None and stale_since is not None:
        age = span(now - row.newest_backup_at)
        raised.append(_recovered(row.source, "stale", f"its newest backup is {age} old"))
        stale_since = None

    overdue = _no_drill(row, first, now)
    if overdue is not None and no_drill_since is None:
        raised.append(Raised("vault.no_drill", overdue))
        no_drill_since = now
    elif overdue is None and no_drill_since is not None:
        age = span(now - row.last_verified_at)
        raised.append(_recovered(row.source, "no_drill", f"a drill passed {age} ago"))
        no_drill_since = None

    values = {
        "first_backup_at": first,
        "stale_since": stale_since,
        "no_drill_since": no_drill_since,
        "checked_at": now,
    }
    table = db.vault_checks
    if seen is None:
        conn.execute(table.insert().values(source=row.source, **values))
    else:
        conn.execute(table.update().where(table.c.source == row.source).values(**values))
    return raised


def _stale(row: Any, now: float) -> dict[str, Any] | None:
    """The alert's detail when the newest good backup is older than the target RPO."""
    target = row.target_rpo_seconds
    if target is None:
        return None
    newest = row.newest_backup_at
    if newest is not None and now - newest <= target:
        return None
    standing = (
        "has no good backup" if newest is None else f"newest backup is {span(now - newest)} old"
    )
    why = _why(row, now)
    return {
        "summary": f"vault: {row.source} {standing}, past its {span(target)} RPO{why}",
        "source": row.source,
        "source_kind": row.kind,
        "newest_snapshot": row.newest_snapshot,
        "newest_backup_age_seconds": None if newest is None else round(now - newest, 1),
        "target_rpo_seconds": target,
        "last_backup_error": mask(row.last_backup_error or ""),
    }


def _why(row: Any, now: float) -> str:
    if row.last_backup_error:
        return f"; the last attempt failed: {mask(row.last_backup_error).splitlines()[0][:300]}"
    attempt = row.last_backup_attempt_at
    if attempt is None or now - attempt > (row.target_rpo_seconds or 0):
        return "; no backup has been attempted since: is `interlock vault schedule` running?"
    return ""


def _no_drill(row: Any, first: float | None, now: float) -> dict[str, Any] | None:
    """The alert's detail when no drill has passed within 26 hours."""
    verified = row.last_verified_at
    if verified is not None:
        if now - verified <= NO_DRILL_SECONDS:
            return None
        standing = f"no restore drill has passed for {span(now - verified)}"
    elif first is not None and now - first > NO_DRILL_SECONDS:
        standing = f"no restore drill has ever passed (backups for {span(now - first)})"
    else:
        return None
    failed = ""
    if row.last_drill_ok is False and row.last_drill_error:
        failed = f"; the last drill failed: {mask(row.last_drill_error).splitlines()[0][:300]}"
    return {
        "summary": f"vault: {row.source}: {standing}; its backups are unproven{failed}",
        "source": row.source,
        "source_kind": row.kind,
        "last_verified_age_seconds": None if verified is None else round(now - verified, 1),
        "last_drill_ok": row.last_drill_ok,
        "last_drill_error": mask(row.last_drill_error or ""),
    }


def _recovered(source: str, which: str, how: str) -> Raised:
    cleared = {"stale": "fresh again", "no_drill": "drilled again"}[which]
    return Raised(
        "vault.recovered",
        {"summary": f"vault: {source} is {cleared}: {how}", "source": source, "check": which},
    )


def check_and_alert(state: State, now: float | None = None) -> list[Raised]:
    """:func:`check` at the service's clock, then the audit records and this replica's
    listeners (which wake its notifier at once)."""
    service = state.service
    raised = check(service.engine, service.clock() if now is None else now)
    for item in raised:
        if service.audit is not None:
            service.audit.append(
                {
                    "type": "alert",
                    "event": item.kind,
                    "actor": {"name": ACTOR},
                    "detail": item.detail,
                }
            )
        for listener in service.listeners:
            listener(item.kind, {"request_id": None, "actor": ACTOR, **item.detail})
    return raised


async def watch(state: State) -> None:
    """Every :data:`INTERVAL` seconds, from start (registered with ``register_background``)."""
    while True:
        try:
            await run_in_threadpool(check_and_alert, state)
        except Exception as exc:  # keep watching; the cause is in the server log
            logger.warning("vault checks: %s: %s", type(exc).__name__, mask(str(exc))[:500])
        await asyncio.sleep(INTERVAL)


# --- API -------------------------------------------------------------------------------------


def sources(engine: Engine, now: float) -> list[dict[str, Any]]:
    """Every vault source's row, with ages at ``now`` and each check's state."""
    with db.read(engine) as conn:
        rows = conn.execute(sa.select(db.vault_sources).order_by(db.vault_sources.c.source)).all()
        seen = {r.source: r for r in conn.execute(sa.select(db.vault_checks))}
    found: list[dict[str, Any]] = []
    for row in rows:
        item = row._asdict()
        first = seen[row.source].first_backup_at if row.source in seen else None
        item["newest_backup_age_seconds"] = _since(now, row.newest_backup_at)
        item["last_verified_age_seconds"] = _since(now, row.last_verified_at)
        item["last_drill_age_seconds"] = _since(now, row.last_drill_at)
        item["stale"] = _stale(row, now) is not None
        item["drill_overdue"] = _no_drill(row, first, now) is not None
        item["last_backup_error"] = mask(row.last_backup_error or "")
        item["last_drill_error"] = mask(row.last_drill_error or "")
        found.append(item)
    return found


async def list_sources(request: Request) -> Response:
    """``GET /api/v1/vault/sources``: ``{"sources": [...]}``, by name."""
    await approver(request, write=False)
    state = _state_of(request)
    rows = await run_in_threadpool(sources, state.service.engine, state.service.clock())
    return JSONResponse({"sources": rows})


def _since(now: float, at: float | None) -> float | None:
    return None if at is None else round(now - at, 1)


register_routes(lambda: [Route(f"{API}/vault/sources", list_sources)])
register_background(watch)
