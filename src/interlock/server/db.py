"""The server's database: SQLite (WAL) by default, PostgreSQL for replicas; numbered migrations.

Every state change that must happen once, whichever replica serves it (a request decided, an
approval consumed), is a conditional ``UPDATE … WHERE state = 'pending'`` inside a transaction
that first locks the request row (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite), so two replicas can never both win. Migrations are plain DDL, applied in order and
recorded in ``schema_migrations``; an existing database is upgraded in place at start-up.

PostgreSQL advisory locks in use (transaction-scoped; a new one takes a new key):

- ``8470``: :func:`migrate` (replicas starting together);
- ``(8470, hashtext(binding))``, the two-key form, a key space of its own: filing or consuming
  one action (approvals.py);
- ``8471``: the kill switch, exclusive to turn it on or off, shared while filing (approvals.py);
- ``8472``: enqueueing notifications (notify.py);
- ``8473``: the vault freshness checks (vault_status.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from interlock.errors import ServerError

metadata = sa.MetaData()

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("binding", sa.String(80), nullable=False),
    sa.Column("action_digest", sa.String(80), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("action_json", sa.Text, nullable=False),
    sa.Column("card_json", sa.Text, nullable=False),
    sa.Column("environment", sa.String(100)),
    sa.Column("production", sa.Boolean, nullable=False),
    sa.Column("quorum", sa.Integer, nullable=False),
    sa.Column("requester_agent", sa.String(100)),
    sa.Column("requester_session", sa.String(200)),
    sa.Column("requester_user", sa.String(100)),
    sa.Column("policy_revision", sa.String(80), nullable=False),
    sa.Column("decided_at", sa.Float),
    sa.Column("decided_by", sa.Text),
    sa.Column("use_by", sa.Float),
    sa.Column("consumed_at", sa.Float),
    sa.Index("ix_requests_binding_state", "binding", "state"),
    sa.Index("ix_requests_state_expires", "state", "expires_at"),
)

votes = sa.Table(
    "votes",
    metadata,
    sa.Column("request_id", sa.String(40), sa.ForeignKey("requests.id"), primary_key=True),
    sa.Column("approver", sa.String(100), primary_key=True),
    sa.Column("vote", sa.String(10), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
)

approvers = sa.Table(
    "approvers",
    metadata,
    sa.Column("username", sa.String(100), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(80), primary_key=True),
    sa.Column("username", sa.String(100), nullable=False),
    sa.Column("csrf", sa.String(80), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("request_id", sa.String(40)),
    sa.Column("actor", sa.String(200)),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
)

switch = sa.Table(
    "switch",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("killed", sa.Boolean, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(100), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_at", sa.Float, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Index("ix_deliveries_state_next", "state", "next_at"),
)

# The broker (issue 6, docs/broker.md). A credential's value is stored only as AES-GCM
# ciphertext under a key that is never in the database; `key_id` names that key (an HMAC of
# it, not the key) so a wrong key is told apart from a tampered row. A token is stored only
# as its SHA-256.
credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("upstream", sa.String(100), nullable=False),
    sa.Column("header", sa.String(100), nullable=False),
    sa.Column("scheme", sa.String(40), nullable=False),
    sa.Column("key_id", sa.String(40), nullable=False),
    sa.Column("nonce", sa.String(40), nullable=False),
    sa.Column("ciphertext", sa.Text, nullable=False),
    sa.Column("hint", sa.String(16), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_credentials_upstream", "upstream"),
)

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("token_hash", sa.String(80), nullable=False),
    sa.Column("agent", sa.String(100), nullable=False),
    sa.Column("session", sa.String(200), nullable=False),
    sa.Column("environment", sa.String(100), nullable=False),
    sa.Column("upstreams", sa.Text, nullable=False),
    sa.Column("operations", sa.Text, nullable=False),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
    sa.Column("suspended_at", sa.Float),
    sa.Column("suspend_reason", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_tokens_token_hash", "token_hash", unique=True),
    sa.Index("ix_tokens_session", "session"),
)

# The gateway's velocity limit (issue 6 item 6, docs/gateway.md): one row per denied or
# destructive attempt of an agent session, so every replica counts the same attempts. ``key``
# is the action's digest for an attempt that files an approval (sending it again while it waits
# is not another attempt) and a fresh id for a denial (each one counts).
gateway_attempts = sa.Table(
    "gateway_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session", sa.String(200), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("key", sa.String(100), nullable=False),
    sa.Index("ix_gateway_attempts_session_at", "session", "at"),
)

# The vault's state as its own jobs report it (issue 7, docs/vault.md): one row per source.
# Written by `interlock vault schedule` / `backup` / `drill` (vault/report.py), read by the
# dashboard, the approval card and the server's freshness checks. Metadata only: ids, times,
# sizes and error messages, never a key or a byte of backed-up data.
vault_sources = sa.Table(
    "vault_sources",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False, server_default=""),
    sa.Column("target_rpo_seconds", sa.Float),  # None: no target configured
    sa.Column("newest_snapshot", sa.String(64)),
    sa.Column("newest_backup_at", sa.Float),  # the newest good backup's point in time
    sa.Column("newest_backup_size", sa.BigInteger),
    sa.Column("last_backup_attempt_at", sa.Float),
    sa.Column("last_backup_error", sa.Text, nullable=False, server_default=""),
    sa.Column("last_drill_at", sa.Float),
    sa.Column("last_drill_ok", sa.Boolean),
    sa.Column("last_drill_error", sa.Text, nullable=False, server_default=""),
    sa.Column("last_verified_at", sa.Float),  # the newest drill or restore that passed
    sa.Column("last_verified_snapshot", sa.String(64)),
    sa.Column("last_rto_seconds", sa.Float),
    sa.Column("last_rpo_seconds", sa.Float),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# The server's own freshness checks of the vault (server/vault_status.py): per source, what it
# has alerted on, so ``vault.stale`` and ``vault.no_drill`` page once (from one replica) until
# they clear, and since when the source has had backups (for "no drill within 26 hours").
vault_checks = sa.Table(
    "vault_checks",
    metadata,
    sa.Column("source", sa.String(200), primary_key=True),
    sa.Column("first_backup_at", sa.Float),  # the oldest backup point this server has seen
    sa.Column("stale_since", sa.Float),  # vault.stale raised at; None: not alerting
    sa.Column("no_drill_since", sa.Float),  # vault.no_drill raised at; None: not alerting
    sa.Column("checked_at", sa.Float, nullable=False),
)

Migration = Callable[[Connection], None]


def _create(*tables: sa.Table) -> Migration:
    def apply(conn: Connection) -> None:
        for table in tables:
            table.create(conn)

    return apply


# A released migration never changes: a database already past it would never see the change.
# `_create` builds from the live table definitions above, which is right only while no later
# migration alters those tables; the first one that does must give its predecessors the
# definitions they had. tests/server/test_migrations.py pins each migration's columns.
MIGRATIONS: tuple[tuple[int, str, Migration], ...] = (
    (
        1,
        "requests, votes, approvers, sessions, events",
        _create(requests, votes, approvers, sessions, events),
    ),
    (2, "kill switch", _create(switch)),
    (3, "notification deliveries", _create(deliveries)),
    (4, "broker credentials and tokens", _create(credentials, tokens)),
    (5, "gateway velocity attempts", _create(gateway_attempts)),
    (6, "vault sources", _create(vault_sources)),
    (7, "vault freshness checks", _create(vault_checks)),
)

_versions = sa.Table(
    "schema_migrations",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
)


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'interlock.db'}"


def connect(url: str, *, background_checkpoints: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and real ``BEGIN IMMEDIATE``.

    ``background_checkpoints`` (the server): SQLite does not copy its WAL back into the
    database inside a committing request; :func:`checkpoint`, called by the server's
    housekeeping each second, does, outside the write lock. An automatic checkpoint fsyncs the
    database in whichever request crosses 1,000 pages, and 20 requests queue behind it
    (bench/approvals.py: filing p99 at 200/s 116 ms with them, under 50 ms without).
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"timeout": 30, "isolation_level": None})
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            if background_checkpoints:
                sa.event.listen(engine, "connect", _no_auto_checkpoint)
            sa.event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = sa.create_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise ServerError(f"cannot use database_url: {exc}") from None
    return engine


def _no_auto_checkpoint(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")


def checkpoint(engine: Engine) -> None:
    """Copy the WAL into the database without blocking writers (SQLite; nothing elsewhere)."""
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    except sa.exc.OperationalError as exc:
        # Busy or locked by a writer at this instant: the next second's call copies the rest.
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # pysqlite's own BEGIN is deferred: two writers could both read "pending" first. Reads
    # (see `read`) stay deferred: in WAL mode they need no lock and never wait for a writer.
    if conn.get_execution_options().get(_READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine, upto: int | None = None) -> list[int]:
    """Apply every migration not yet applied (up to ``upto``); returns the versions applied.

    Concurrent starts (two replicas) are serialised by a lock: PostgreSQL's advisory lock, and
    on SQLite the write lock of ``BEGIN IMMEDIATE``.
    """
    applied: list[int] = []
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(8470)")
        _versions.create(conn, checkfirst=True)
        done = set(conn.execute(sa.select(_versions.c.version)).scalars())
        for version, name, apply in MIGRATIONS:
            if version in done or (upto is not None and version > upto):
                continue
            apply(conn)
            conn.execute(
                _versions.insert().values(version=version, name=name, applied_at=time.time())
            )
            applied.append(version)
    return applied


def schema_version(engine: Engine) -> int:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("schema_migrations"):
            return 0
        return int(conn.execute(sa.select(sa.func.max(_versions.c.version))).scalar() or 0)


_READ_ONLY = "interlock_read_only"


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction: on SQLite it holds the write lock from its first statement.

    SQLite has one writer. Writers of this process queue on a lock here first, in order: left
    to SQLite's busy handler, 16 concurrent writers sleep in growing steps (up to 100 ms) and
    the slowest request waits for nothing (bench/approvals.py: p99 of a vote 315 ms → below).
    Other processes (the CLI) still meet the busy timeout.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with _writer_lock(engine), engine.begin() as conn:
        yield conn


_writer_locks: dict[str, threading.Lock] = {}
_writer_locks_guard = threading.Lock()


def _writer_lock(engine: Engine) -> threading.Lock:
    key = str(engine.url)
    with _writer_locks_guard:
        return _writer_locks.setdefault(key, threading.Lock())


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read-only connection: one consistent snapshot, no write lock (SQLite)."""
    with engine.connect() as conn:
        conn.execution_options(**{_READ_ONLY: True})
        yield conn


# Statements on every request's path, built once: building a SQLAlchemy statement costs more
# Python than SQLite spends running it (bench/approvals.py --profile).
REQUEST_BY_ID = sa.select(requests).where(requests.c.id == sa.bindparam("id"))
REQUEST_BY_ID_LOCKED = REQUEST_BY_ID.with_for_update()
VOTES_OF = sa.select(votes).where(votes.c.request_id == sa.bindparam("id")).order_by(votes.c.at)
INSERT_EVENT = events.insert()
INSERT_VOTE = votes.insert()


def insert_event(
    conn: Connection,
    *,
    at: float,
    kind: str,
    actor: str,
    detail: dict[str, Any],
    request_id: str | None = None,
) -> None:
    """One ``events`` row (what the live stream, the notifiers and other replicas read); an
    alert is one with no request. ``detail`` is stored as JSON."""
    conn.execute(
        INSERT_EVENT,
        {
            "at": at,
            "kind": kind,
            "request_id": request_id,
            "actor": actor,
            "detail": json.dumps(detail, ensure_ascii=False, default=str),
        },
    )


def lock_request(conn: Connection, request_id: str) -> sa.Row[Any] | None:
    """The request row, locked for the rest of the transaction (PostgreSQL; SQLite is whole-db)."""
    query = REQUEST_BY_ID_LOCKED if conn.dialect.name == "postgresql" else REQUEST_BY_ID
    return conn.execute(query, {"id": request_id}).first()
