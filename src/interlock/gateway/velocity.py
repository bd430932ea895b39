"""The velocity limit: a per-session budget of denied or destructive attempts (issue 6 item 6).

The PocketOS deletion took 9 seconds (../shared/notes/anchors.md §0): a person reading alerts
cannot stop an agent that retries at machine speed. So every denied request and every request
that needs approval counts against its agent session; the attempt that goes over the budget
(default 3 within 60 s) suspends every token of the session
(:meth:`interlock.broker.tokens.Tokens.suspend_session`) and pages, and is itself refused.

Attempts are rows of ``gateway_attempts`` (migration 5) in the server's database, so replicas
behind one load balancer count the same attempts. Each attempt is committed before the count
is read: two replicas counting at once both see both rows (both may suspend, which is
idempotent, and the alert goes out once: only the replica whose suspension changed tokens
raises it).

An action that waits for approval counts once per window however often it is sent again
(``key`` is its digest); each denial counts on its own.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from interlock.gateway.settings import Velocity
from interlock.server import db
from interlock.server.db import gateway_attempts

__all__ = ["VelocityLimit"]

KEEP = 10
"""Rows older than this many windows are deleted when the session next records one."""

_INSERT = gateway_attempts.insert()
_PRUNE = gateway_attempts.delete().where(
    gateway_attempts.c.session == sa.bindparam("s"), gateway_attempts.c.at < sa.bindparam("old")
)
_COUNT = sa.select(sa.func.count(sa.distinct(gateway_attempts.c.key))).where(
    gateway_attempts.c.session == sa.bindparam("s"), gateway_attempts.c.at > sa.bindparam("since")
)


class VelocityLimit:
    """Counts a session's attempts in the shared database."""

    def __init__(
        self, engine: Engine, limit: Velocity, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine = engine
        self.limit = limit
        self.clock = clock

    def record(self, session: str, kind: str, key: str | None = None) -> int:
        """Count one attempt (``denied`` or ``destructive``); returns the session's attempts in
        the window, this one included. ``key``: the same key twice in a window counts once."""
        now = self.clock()
        with db.transaction(self.engine) as conn:
            conn.execute(
                _INSERT,
                {
                    "session": session,
                    "at": now,
                    "kind": kind,
                    "key": key or "once:" + secrets.token_hex(8),
                },
            )
            conn.execute(_PRUNE, {"s": session, "old": now - KEEP * self.limit.window})
        with db.read(self.engine) as conn:
            return int(
                conn.execute(_COUNT, {"s": session, "since": now - self.limit.window}).scalar() or 0
            )

    def exceeded(self, attempts: int) -> bool:
        return attempts > self.limit.attempts
