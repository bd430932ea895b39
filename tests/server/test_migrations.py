"""Schema migrations: an older database upgrades in place with its rows, on SQLite and PostgreSQL.

Also pinned here: the columns each migration creates. A released migration never changes (a
database already past it would never see the change); editing a table in db.py without a new
migration makes :func:`test_each_migration_creates_what_it_always_did` fail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from interlock.server import db
from tests.server.conftest import Scratch, together

FROZEN: dict[int, dict[str, list[str]]] = {
    1: {
        "requests": [
            "id",
            "created_at",
            "expires_at",
            "state",
            "binding",
            "action_digest",
            "kind",
            "action_json",
            "card_json",
            "environment",
            "production",
            "quorum",
            "requester_agent",
            "requester_session",
            "requester_user",
            "policy_revision",
            "decided_at",
            "decided_by",
            "use_by",
            "consumed_at",
        ],
        "votes": ["request_id", "approver", "vote", "at", "note"],
        "approvers": ["username", "password_hash", "created_at"],
        "sessions": ["token_hash", "username", "csrf", "created_at", "expires_at"],
        "events": ["seq", "at", "kind", "request_id", "actor", "detail"],
    },
    2: {"switch": ["id", "killed", "at", "by", "reason"]},
    3: {
        "deliveries": [
            "id",
            "request_id",
            "channel",
            "event",
            "state",
            "attempts",
            "next_at",
            "last_error",
            "created_at",
            "updated_at",
        ]
    },
    4: {
        "credentials": [
            "name",
            "upstream",
            "header",
            "scheme",
            "key_id",
            "nonce",
            "ciphertext",
            "hint",
            "created_at",
        ],
        "tokens": [
            "id",
            "token_hash",
            "agent",
            "session",
            "environment",
            "upstreams",
            "operations",
            "label",
            "created_at",
            "expires_at",
            "revoked_at",
            "suspended_at",
            "suspend_reason",
        ],
    },
    5: {"gateway_attempts": ["id", "session", "at", "kind", "key"]},
    6: {
        "vault_sources": [
            "source",
            "kind",
            "target_rpo_seconds",
            "newest_snapshot",
            "newest_backup_at",
            "newest_backup_size",
            "last_backup_attempt_at",
            "last_backup_error",
            "last_drill_at",
            "last_drill_ok",
            "last_drill_error",
            "last_verified_at",
            "last_verified_snapshot",
            "last_rto_seconds",
            "last_rpo_seconds",
            "updated_at",
        ]
    },
    7: {
        "vault_checks": [
            "source",
            "first_backup_at",
            "stale_since",
            "no_drill_since",
            "checked_at",
        ]
    },
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return db.sqlite_url(tmp_path)
    scratch: Scratch = request.getfixturevalue("pg_scratch")
    return scratch.create()


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    found = db.connect(url)
    yield found
    found.dispose()


def tables(engine: sa.Engine) -> dict[str, list[str]]:
    inspector = sa.inspect(engine)
    return {
        name: [c["name"] for c in inspector.get_columns(name)]
        for name in inspector.get_table_names()
        if name != "schema_migrations"
    }


def test_each_migration_creates_what_it_always_did(engine: sa.Engine) -> None:
    before: dict[str, list[str]] = {}
    for version, created in FROZEN.items():
        assert db.migrate(engine, upto=version) == [version]
        after = tables(engine)
        new = {name: cols for name, cols in after.items() if name not in before}
        assert new == created, (
            f"migration {version} changed; a released migration never changes: write a new "
            "one, and give the earlier ones the table definitions they had"
        )
        before = after
    assert [v for v, _, _ in db.MIGRATIONS] == list(FROZEN), "pin the new migration above"


def test_the_latest_schema_is_what_the_code_queries(engine: sa.Engine) -> None:
    db.migrate(engine)
    inspector = sa.inspect(engine)
    for table in db.metadata.sorted_tables:
        found = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert list(found) == [c.name for c in table.columns], table.name
        for column in table.columns:
            assert found[column.name]["nullable"] == column.nullable, (table.name, column.name)
        keys = inspector.get_pk_constraint(table.name)["constrained_columns"]
        assert keys == [c.name for c in table.primary_key.columns], table.name
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert indexes == {i.name for i in table.indexes}, table.name


def _rows(engine: sa.Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {
            name: [tuple(r) for r in conn.execute(sa.select(db.metadata.tables[name])).all()]
            for name in FROZEN[1]
        }


def test_an_older_database_upgrades_with_its_rows_intact(engine: sa.Engine) -> None:
    assert db.migrate(engine, upto=1) == [1]
    assert db.schema_version(engine) == 1
    now = time.time()
    with db.transaction(engine) as conn:
        conn.execute(
            db.requests.insert().values(
                id="req_old",
                created_at=now,
                expires_at=now + 3600,
                state="approved",
                binding="sha256:b",
                action_digest="sha256:a",
                kind="shell",
                action_json='{"kind": "shell"}',
                card_json='{"text": "DROP TABLE users"}',
                environment="production",
                production=True,
                quorum=2,
                requester_agent="claude-code",
                requester_session="s-1",
                requester_user=None,
                policy_revision="builtin",
                decided_at=now,
                decided_by='["alice", "bob"]',
                use_by=now + 900,
                consumed_at=None,
            )
        )
        for name in ("alice", "bob"):
            conn.execute(
                db.votes.insert().values(
                    request_id="req_old", approver=name, vote="approve", at=now
                )
            )
        conn.execute(
            db.approvers.insert().values(
                username="alice", password_hash="$argon2id$x", created_at=now
            )
        )
        conn.execute(
            db.sessions.insert().values(
                token_hash="sha256:t",
                username="alice",
                csrf="c",
                created_at=now,
                expires_at=now + 60,
            )
        )
        conn.execute(
            db.events.insert().values(
                at=now, kind="approved", request_id="req_old", actor="alice, bob"
            )
        )
    kept = _rows(engine)

    assert db.migrate(engine) == list(FROZEN)[1:]
    assert db.schema_version(engine) == max(FROZEN)
    assert _rows(engine) == kept
    with engine.connect() as conn:  # the new tables work alongside the old rows
        assert conn.execute(sa.select(sa.func.count()).select_from(db.switch)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(db.deliveries)).scalar() == 0
    with db.transaction(engine) as conn:
        conn.execute(
            db.events.insert().values(at=now, kind="consumed", request_id="req_old", actor="a")
        )
    with engine.connect() as conn:
        seqs = conn.execute(sa.select(db.events.c.seq).order_by(db.events.c.seq)).scalars().all()
    assert seqs == [1, 2], "the events sequence continues after an upgrade"


def test_migrating_twice_is_a_no_op(engine: sa.Engine) -> None:
    assert db.migrate(engine) == list(FROZEN)
    with engine.connect() as conn:
        recorded = conn.execute(
            sa.text("SELECT version, name, applied_at FROM schema_migrations")
        ).all()
    assert db.migrate(engine) == []
    assert db.migrate(engine, upto=2) == []
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT version, name, applied_at FROM schema_migrations")).all()
            == recorded
        )


def test_replicas_starting_together_migrate_once(url: str) -> None:
    engines = [db.connect(url) for _ in range(4)]
    try:
        applied = together([partial(db.migrate, e) for e in engines])
    finally:
        for engine in engines:
            engine.dispose()
    assert sorted(applied, key=len) == [[], [], [], list(FROZEN)]
