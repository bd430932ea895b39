"""Fixtures for the replays: a scratch PostgreSQL cluster per test (real server, never skipped)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from interlock.replay.databases import Cluster


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """Databases on 127.0.0.1:5432 (or $INTERLOCK_REPLAY_PG); a test fails without a server."""
    found = Cluster(prefix="interlock_replay_test")
    try:
        yield found
    finally:
        found.close()
