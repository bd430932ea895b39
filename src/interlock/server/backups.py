"""What the dashboard and the card show of the vault: per source, the newest backup and the
last verified restore (issue 7 item 6).

The vault's jobs write one ``vault_sources`` row per source (vault/report.py); the server only
reads them here. What each source protects comes from the config's ``[vault.sources.<name>]
protects`` (vault/settings.py), read once at start-up (``ServerSettings.vault``). Ages are
computed here, on the server, from the clock it is given, so a page and a test agree. Errors
are masked again before they are shown (the jobs mask what they write; a row written some other
way must not put a password on a page).

A backup nobody has restored is a hope (GitLab, 2017): a source whose restore was never
verified says so in words, as does one whose newest backup is older than its target RPO. The
card, for a destructive action on a database or a volume, names the sources protecting that
target, or says plainly that no backup of it is known to Interlock. Matching a card's targets to
``protects`` strings (docs/vault.md, "On the dashboard and the card"):

- the databases are those pre-destroy snapshots protect, read by the same function
  (``predestroy.databases_destroyed``): a database dropped or reset (``db.drop_database``,
  ``cloud.delete_database``, …) named ``app``, never the database the client connects to to drop
  it: ``postgres:app`` (also ``mysql:``, ``sqlite:``, ``redis:``, ``mongodb:`` ``app``);
- tables, rows or keys destroyed (``db.drop_table``, ``db.truncate``, ``db.delete_all_rows``, …):
  the database the command's client connects to (a URL or conninfo, ``-d``/``--dbname``, the
  first positional argument, ``PGDATABASE=``), as above; when the command does not say, or a
  dropped database is a variable, the match is unsure;
- a volume deleted (Railway ``volumeDelete``, ``railway volume delete``, a Kubernetes volume)
  with id ``vol-7``: any ``protects`` entry ending in ``:volume:vol-7``
  (``railway:volume:vol-7``).

Whenever the match is unsure (an unparsed command, a table in an unnamed database, a data
target no source names) the card lists every source under "Vault sources" rather than nothing.
A table in an unnamed database is "no backup known" only when no source protects any database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from interlock.secrets import mask
from interlock.server.db import events, vault_sources
from interlock.server.predestroy import (
    DATABASE_OPERATIONS,
    FAILED,
    SNAPSHOT,
    TABLE_OPERATIONS,
    UNSURE_DATABASE_OPERATIONS,
    databases_destroyed,
)
from interlock.vault.settings import VaultSettings

__all__ = [
    "DATABASE_OPERATIONS",
    "DRILL_WITHIN",
    "POLL_SECONDS",
    "TABLE_OPERATIONS",
    "CardBackups",
    "DataTarget",
    "Predestroy",
    "Protected",
    "SourceView",
    "age",
    "data_targets",
    "for_card",
    "predestroy",
    "seconds",
    "size",
    "sources",
]

DRILL_WITHIN = 26 * 3600.0
"""A source with no verified restore in this long is a problem (issue 7 item 6: "the absence of a
successful one within 26 hours"; server/vault_status.py alerts on the same window)."""

POLL_SECONDS = 60
"""How often an open dashboard or card fetches itself again for the vault's rows: a good
backup raises no event, and ages grow by themselves."""

# Which databases an action destroys is read once, by predestroy.databases_destroyed (its
# DATABASE_OPERATIONS, TABLE_OPERATIONS): the card and the pre-destroy snapshots agree.
VOLUME_OPERATIONS = frozenset(
    {"cloud.delete_volume", "cloud.volume.delete", "k8s.delete_volume", "k8s.delete_storage"}
)
"""The finding's target is a volume's id."""
UNSURE_OPERATIONS = UNSURE_DATABASE_OPERATIONS | frozenset(
    {
        "shell.unparsed",
        "cloud.delete",
        "cloud.delete_project",
        "cloud.project.delete",
        "cloud.delete_environment",
        "cloud.delete_app",
        "cloud.delete_cluster",
        "cloud.delete_backup",
        "cloud.backup.delete",
        "cloud.terminate",
        "k8s.delete",
        "k8s.delete_all",
        "k8s.delete_namespace",
        "k8s.delete_collection",
    }
)
"""What may take data with it, but does not say which: the card lists every source."""

_SYSTEMS = ("postgres", "mysql", "sqlite", "redis", "mongodb")

# --- formatting (Jinja filters) ---------------------------------------------------------------


def age(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``3 h 5 min``, ``2 d 4 h``: an age or a duration, as people read it."""
    if seconds is None:
        return "unknown"
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = whole // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def size(count: int | None) -> str:
    """``512 B``, ``1.5 KB``, ``2.3 GB`` (powers of 1000, as the vault's CLI prints them)."""
    if count is None:
        return "unknown size"
    value = float(count)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def seconds(value: float | None) -> str:
    """A measured RTO: ``4.2 s`` below a minute, else as :func:`age`."""
    if value is None:
        return "unknown"
    return f"{value:.1f} s" if value < 60 else age(value)


# --- the sources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceView:
    """One source as the panel and the card show it; ages in seconds at ``now``."""

    source: str
    kind: str
    protects: tuple[str, ...]
    configured: bool
    """Named in this server's ``[vault.sources]``."""
    reported: bool
    """The vault's jobs have reported on it (it has a ``vault_sources`` row)."""
    target_rpo: float | None
    newest_snapshot: str | None
    newest_backup_at: float | None
    newest_backup_age: float | None
    newest_backup_size: int | None
    rpo_met: bool | None
    """None when no target is known; False when stale or there is no backup at all."""
    last_backup_attempt_at: float | None
    last_backup_error: str
    last_drill_at: float | None
    last_drill_age: float | None
    last_drill_ok: bool | None
    last_drill_error: str
    last_verified_at: float | None
    last_verified_age: float | None
    last_verified_snapshot: str | None
    last_rto: float | None
    last_rpo: float | None
    problems: tuple[str, ...] = ()
    """What is wrong, each in a sentence: shown as text, not only as a colour."""

    @property
    def ok(self) -> bool:
        return not self.problems


def sources(engine: Engine, vault: VaultSettings, now: float) -> list[SourceView]:
    """Every source the config names or the jobs reported on, problems first, then by name."""
    with engine.connect() as conn:
        rows = {r.source: r for r in conn.execute(sa.select(vault_sources))}
    names = sorted(set(rows) | set(vault.sources))
    views = [_view(name, rows.get(name), vault, now) for name in names]
    return sorted(views, key=lambda v: (v.ok, v.source))


def _view(name: str, row: Any, vault: VaultSettings, now: float) -> SourceView:
    configured = vault.sources.get(name)
    target = (row.target_rpo_seconds if row is not None else None) or (
        configured.rpo_seconds if configured else None
    )

    def ago(at: float | None) -> float | None:
        return None if at is None else max(0.0, now - at)

    newest_at = row.newest_backup_at if row is not None else None
    newest_age = ago(newest_at)
    if target is None:
        met: bool | None = None
    else:
        met = newest_age is not None and newest_age <= target
    view = SourceView(
        source=name,
        kind=(row.kind if row is not None and row.kind else "")
        or (configured.kind if configured else "unknown"),
        protects=configured.protects if configured else (),
        configured=configured is not None,
        reported=row is not None,
        target_rpo=target,
        newest_snapshot=row.newest_snapshot if row is not None else None,
        newest_backup_at=newest_at,
        newest_backup_age=newest_age,
        newest_backup_size=row.newest_backup_size if row is not None else None,
        rpo_met=met,
        last_backup_attempt_at=row.last_backup_attempt_at if row is not None else None,
        last_backup_error=mask(row.last_backup_error or "") if row is not None else "",
        last_drill_at=row.last_drill_at if row is not None else None,
        last_drill_age=ago(row.last_drill_at if row is not None else None),
        last_drill_ok=row.last_drill_ok if row is not None else None,
        last_drill_error=mask(row.last_drill_error or "") if row is not None else "",
        last_verified_at=row.last_verified_at if row is not None else None,
        last_verified_age=ago(row.last_verified_at if row is not None else None),
        last_verified_snapshot=row.last_verified_snapshot if row is not None else None,
        last_rto=row.last_rto_seconds if row is not None else None,
        last_rpo=row.last_rpo_seconds if row is not None else None,
    )
    return _with_problems(view)


def _with_problems(v: SourceView) -> SourceView:
    problems: list[str] = []
    if v.newest_backup_at is None:
        problems.append("No backup yet: nothing of this source can be restored.")
    elif v.rpo_met is False and v.target_rpo is not None:
        problems.append(
            f"STALE: the newest backup is {age(v.newest_backup_age)} old, "
            f"over its {age(v.target_rpo)} target RPO."
        )
    if v.last_backup_error and (
        v.newest_backup_at is None or (v.last_backup_attempt_at or 0) > v.newest_backup_at
    ):
        problems.append(f"The last backup attempt failed: {v.last_backup_error}")
    if v.last_drill_ok is False:
        problems.append(
            f"The last restore drill FAILED {age(v.last_drill_age)} ago: "
            f"{v.last_drill_error or 'no error was recorded'}"
        )
    if v.last_verified_at is None:
        problems.append("Never verified: no restore of this source has been checked.")
    elif (v.last_verified_age or 0) > DRILL_WITHIN:
        problems.append(
            f"No verified restore in {age(DRILL_WITHIN)}: the last was "
            f"{age(v.last_verified_age)} ago."
        )
    return replace(v, problems=tuple(problems))


# --- the card ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataTarget:
    """A database or volume a card's action would destroy, and the ``protects`` strings that
    name it."""

    label: str
    """What the card says: ``database app``, ``volume vol-7``."""
    candidates: tuple[str, ...] = ()
    volume: str | None = None
    """A volume id: matched by any ``protects`` entry ending in ``:volume:<id>``."""
    sure: bool = True
    """False when Interlock could not name what it is (a table in an unnamed database)."""
    holding: str = ""
    """For a database Interlock cannot name: the tables or keys in it the action destroys."""

    def matches(self, protects: Iterable[str]) -> bool:
        names = {p.strip().lower() for p in protects}
        if names & {c.lower() for c in self.candidates}:
            return True
        return self.volume is not None and any(
            n.endswith(f":volume:{self.volume.lower()}") for n in names
        )


@dataclass(frozen=True)
class Protected:
    target: DataTarget
    sources: tuple[SourceView, ...]


@dataclass(frozen=True)
class CardBackups:
    """The card's "Backup freshness" section."""

    protected: tuple[Protected, ...] = ()
    unprotected: tuple[DataTarget, ...] = ()
    """Destroyed by the action, and no configured source protects them."""
    undetermined: tuple[DataTarget, ...] = ()
    """Destroyed by the action in a database Interlock cannot name, while some source protects
    a database: one of them may hold it, or none."""
    unsure: bool = False
    """The match may have missed something: show every source."""
    data_bearing: bool = False
    every: tuple[SourceView, ...] = field(default_factory=tuple)


def data_targets(card: dict[str, Any]) -> tuple[list[DataTarget], bool]:
    """The databases and volumes the card's action destroys, and whether Interlock is unsure
    it found them all. Pure: reads only the stored card. The databases are those pre-destroy
    snapshots back up (``predestroy.databases_destroyed``)."""
    found: dict[str, DataTarget] = {}
    unsure = False
    findings = card.get("findings", [])
    command = str(card.get("detail") or card.get("text") or "")
    for destroyed in databases_destroyed(
        findings, command if card.get("kind") == "shell" else None
    ):
        name = destroyed.database
        if name is not None:
            found.setdefault(f"db:{name}", _database(name))
            continue
        unsure = True
        if destroyed.holding is not None:  # tables, rows or keys in a database it cannot name
            shown = ", ".join(destroyed.holding) or "its tables"
            found.setdefault(
                f"in:{shown}",
                DataTarget(f"the database holding {shown}", sure=False, holding=shown),
            )
    for finding in findings:
        operation = str(finding.get("operation", ""))
        targets = [str(t) for t in finding.get("targets", []) if str(t).strip()]
        if operation in VOLUME_OPERATIONS:
            if not targets:
                unsure = True
            for ident in targets:
                found.setdefault(
                    f"volume:{ident}",
                    DataTarget(f"volume {ident}", (f"railway:volume:{ident}",), volume=ident),
                )
        elif operation in UNSURE_OPERATIONS or operation.endswith(".unparsed"):
            unsure = True
    return list(found.values()), unsure


def _database(name: str) -> DataTarget:
    return DataTarget(f"database {name}", tuple(f"{s}:{name}" for s in _SYSTEMS))


def for_card(card: dict[str, Any], every: list[SourceView]) -> CardBackups:
    """The sources protecting what the card's action destroys; what nothing protects."""
    targets, unsure = data_targets(card)
    protected: list[Protected] = []
    unprotected: list[DataTarget] = []
    undetermined: list[DataTarget] = []
    guards_a_database = any(
        p.strip().lower().startswith(tuple(f"{s}:" for s in _SYSTEMS))
        for v in every
        for p in v.protects
    )
    for target in targets:
        if not target.sure:
            (undetermined if guards_a_database else unprotected).append(target)
            continue
        guarding = tuple(v for v in every if target.matches(v.protects))
        if guarding:
            protected.append(Protected(target, guarding))
        else:
            unprotected.append(target)
            unsure = True  # a source may protect it under another name
    return CardBackups(
        protected=tuple(protected),
        unprotected=tuple(unprotected),
        undetermined=tuple(undetermined),
        unsure=unsure,
        data_bearing=bool(targets),
        every=tuple(every),
    )


# --- pre-destroy snapshots of this request ----------------------------------------------------


@dataclass(frozen=True)
class Predestroy:
    """A pre-destroy snapshot taken, or refused, before this request's action was released
    (server/predestroy.py records each as an event of the request)."""

    at: float
    ok: bool
    snapshots: tuple[dict[str, Any], ...] = ()
    """``source``, ``snapshot``, ``size``, ``seconds`` of each backup taken."""
    message: str = ""
    """Why it failed (the action did not run; the approval was kept)."""


def predestroy(engine: Engine, request_id: str) -> list[Predestroy]:
    """The request's pre-destroy snapshots and failures, oldest first."""
    query = (
        sa.select(events.c.at, events.c.kind, events.c.detail)
        .where(events.c.request_id == request_id, events.c.kind.in_((SNAPSHOT, FAILED)))
        .order_by(events.c.seq)
    )
    with engine.connect() as conn:
        found = conn.execute(query).all()
    out: list[Predestroy] = []
    for at, kind, raw in found:
        detail = json.loads(raw or "{}")
        if kind == SNAPSHOT:
            taken = tuple(s for s in detail.get("snapshots", []) if isinstance(s, dict))
            out.append(Predestroy(at, True, snapshots=taken))
        else:
            out.append(Predestroy(at, False, message=mask(str(detail.get("summary", "")))))
    return out
