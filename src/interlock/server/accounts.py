"""Approvers: accounts of their own, argon2-hashed passwords, server-side sessions, CSRF.

Nothing an agent holds is an approver credential: agents file requests and read their status
without any secret; every endpoint that changes a request needs a signed-in approver's session
cookie (HttpOnly, SameSite=Strict) *and* that session's CSRF token in a header or form field.
Sessions are rows in the shared database (only the token's hash is stored), so any replica
accepts a session another one opened.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from interlock.errors import ServerError
from interlock.server import db
from interlock.server.db import approvers, sessions

SESSION_SECONDS = 12 * 3600
MIN_PASSWORD = 12
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("not a password of anyone's")


@dataclass(frozen=True)
class Session:
    username: str
    csrf: str


class Accounts:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock

    def add(self, username: str, password: str) -> None:
        if not _NAME.match(username):
            raise ServerError(
                "an approver name is 1-63 lower-case letters, digits, '.', '_' or '-'"
            )
        if len(password) < MIN_PASSWORD:
            raise ServerError(f"a password needs at least {MIN_PASSWORD} characters")
        with db.transaction(self.engine) as conn:
            if conn.execute(sa.select(approvers).where(approvers.c.username == username)).first():
                raise ServerError(f"approver {username} exists; remove it first to reset")
            conn.execute(
                approvers.insert().values(
                    username=username, password_hash=_hasher.hash(password), created_at=self.clock()
                )
            )

    def remove(self, username: str) -> None:
        with db.transaction(self.engine) as conn:
            conn.execute(sessions.delete().where(sessions.c.username == username))
            if conn.execute(approvers.delete().where(approvers.c.username == username)).rowcount:
                return
        raise ServerError(f"no approver {username}")

    def names(self) -> list[str]:
        with db.read(self.engine) as conn:
            return list(
                conn.execute(sa.select(approvers.c.username).order_by(approvers.c.username))
                .scalars()
                .all()
            )

    def verify(self, username: str, password: str) -> bool:
        with db.read(self.engine) as conn:
            stored = conn.execute(
                sa.select(approvers.c.password_hash).where(approvers.c.username == username)
            ).scalar()
        try:
            return bool(_hasher.verify(stored or _DUMMY, password)) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def sign_in(self, username: str, password: str) -> tuple[str, Session] | None:
        """A new session token (for the cookie) and its CSRF token, or None."""
        if not self.verify(username, password):
            return None
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = self.clock()
        with db.transaction(self.engine) as conn:
            conn.execute(sessions.delete().where(sessions.c.expires_at <= now))
            conn.execute(
                sessions.insert().values(
                    token_hash=_digest(token),
                    username=username,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + SESSION_SECONDS,
                )
            )
        return token, Session(username, csrf)

    def session(self, token: str | None) -> Session | None:
        if not token:
            return None
        with db.read(self.engine) as conn:
            row = conn.execute(
                sa.select(sessions.c.username, sessions.c.csrf)
                .join(approvers, approvers.c.username == sessions.c.username)
                .where(
                    sessions.c.token_hash == _digest(token), sessions.c.expires_at > self.clock()
                )
            ).first()
        return Session(row.username, row.csrf) if row else None

    def sign_out(self, token: str) -> None:
        with db.transaction(self.engine) as conn:
            conn.execute(sessions.delete().where(sessions.c.token_hash == _digest(token)))


def _digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()
