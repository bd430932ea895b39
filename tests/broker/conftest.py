"""Fixtures for the broker's tests: its tables on SQLite and on the real PostgreSQL.

``engine`` runs each test twice, on a SQLite file in ``tmp_path`` and on a scratch PostgreSQL
database (tests/server/conftest.py's ``pg_scratch``: PostgreSQL not answering is a failure).
``clock`` is a settable time for expiry.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from interlock.broker import keys
from interlock.server import db
from tests.server.conftest import (  # noqa: F401  (fixtures, registered by importing them)
    Scratch,
    _no_outside_configuration,
    pg_scratch,
)


@pytest.fixture(autouse=True)
def _no_outside_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own broker key must not decide what a test sees."""
    monkeypatch.delenv(keys.ENV, raising=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return db.sqlite_url(tmp_path)
    scratch: Scratch = request.getfixturevalue("pg_scratch")
    return scratch.create()


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    found = db.connect(database_url)
    db.migrate(found)
    yield found
    found.dispose()


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()
