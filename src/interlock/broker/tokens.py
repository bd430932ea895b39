"""Interlock tokens: what an agent session holds instead of a real credential.

A token is ``ilk_`` followed by 43 URL-safe characters (256 random bits). The prefix makes it
recognisable to scanners and to :func:`interlock.secrets.mask`; the database keeps only its
SHA-256, so a copy of the database authenticates nothing. Each token is bound to one agent
session, **one** environment, a set of upstreams and a set of operations, and lives at most
:data:`MAX_TTL` (8 hours unless asked otherwise). The PocketOS agent held a token with authority
over every environment of the whole Railway API; an Interlock token issued for staging cannot
name production (docs/broker.md).

A token is refused when unknown, expired, revoked, or suspended (every token of a session at
once: the velocity limit and honeytokens use :meth:`Tokens.suspend_session`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from interlock.audit import AuditLog
from interlock.broker.credentials import NAME, os_user
from interlock.errors import BrokerError
from interlock.server import db
from interlock.server.db import tokens

__all__ = ["DEFAULT_TTL", "MAX_TTL", "MIN_TTL", "PREFIX", "TokenInfo", "Tokens", "token_hash"]

PREFIX = "ilk_"
DEFAULT_TTL = 8 * 3600
MIN_TTL = 60
MAX_TTL = 7 * 24 * 3600
_SHAPE = re.compile(r"^ilk_[A-Za-z0-9_-]{43}$")
_OPERATION = re.compile(r"^[a-z0-9_.*?-]{1,100}$")
_AGENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$")
_SESSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$")


@dataclass(frozen=True)
class TokenInfo:
    """A token's binding and state, never the token itself."""

    id: str
    agent: str
    session: str
    environment: str
    upstreams: tuple[str, ...]
    operations: tuple[str, ...]
    created_at: float
    expires_at: float
    revoked_at: float | None
    suspended_at: float | None
    label: str
    suspend_reason: str = ""

    def state(self, now: float) -> str:
        """``revoked``, ``suspended``, ``expired`` or ``active``, in that order of precedence."""
        if self.revoked_at is not None:
            return "revoked"
        if self.suspended_at is not None:
            return "suspended"
        if now >= self.expires_at:
            return "expired"
        return "active"

    def allows_upstream(self, upstream: str) -> bool:
        return upstream in self.upstreams

    def allows_operation(self, operation: str) -> bool:
        """Whether ``operation`` (``volume.delete``) matches one of the token's patterns."""
        return any(fnmatch.fnmatchcase(operation, pattern) for pattern in self.operations)


def token_hash(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    """Issue, authenticate, list, revoke and suspend Interlock tokens."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], float] = time.time,
        *,
        audit: AuditLog | None = None,
        actor: str = "",
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.audit = audit
        """Where issue, revoke and suspend are recorded (the server's audit.jsonl), if given."""
        self.actor = actor or os_user()

    def issue(
        self,
        agent: str,
        session: str,
        environment: str,
        upstreams: tuple[str, ...],
        operations: tuple[str, ...] = ("*",),
        ttl: float = DEFAULT_TTL,
        label: str = "",
    ) -> tuple[str, TokenInfo]:
        """A new token and its binding. The token is returned once and never stored."""
        upstreams = _names("upstream", upstreams)
        operations = _operations(operations)
        _check(agent, session, environment, ttl, label)
        token = PREFIX + secrets.token_urlsafe(32)
        now = self.clock()
        info = TokenInfo(
            id="tok_" + secrets.token_hex(8),
            agent=agent,
            session=session,
            environment=environment,
            upstreams=upstreams,
            operations=operations,
            created_at=now,
            expires_at=now + ttl,
            revoked_at=None,
            suspended_at=None,
            label=label,
        )
        with db.transaction(self.engine) as conn:
            conn.execute(tokens.insert().values(token_hash=token_hash(token), **_row(info)))
        self._record("token_issued", info)
        return token, info

    def authenticate(self, token: str) -> TokenInfo:
        """The binding of a valid token; :class:`BrokerError` says why any other is refused.

        The reasons (``malformed``, ``unknown``, ``revoked``, ``suspended``, ``expired``) are for
        the audit record and the operator; the token itself is never in a message.
        """
        if not isinstance(token, str) or not _SHAPE.match(token):
            raise BrokerError(
                "not an Interlock token (expected ilk_ and 43 characters)", reason="malformed"
            )
        digest = token_hash(token)
        with db.read(self.engine) as conn:
            row = conn.execute(_BY_HASH, {"hash": digest}).first()
        # The lookup is by an index on the hash; the comparison of what it found is constant
        # time all the same, so no answer depends on how much of a guess was right.
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            raise BrokerError("unknown Interlock token", reason="unknown")
        info = _info(row._asdict())
        state = info.state(self.clock())
        if state == "active":
            return info
        detail = f" ({info.suspend_reason})" if state == "suspended" and info.suspend_reason else ""
        raise BrokerError(
            f"Interlock token {info.id} is {state}{detail}",
            "ask the operator for a new token (`interlock token issue`)",
            reason=state,
        )

    def get(self, token_id: str) -> TokenInfo:
        with db.read(self.engine) as conn:
            row = conn.execute(sa.select(tokens).where(tokens.c.id == token_id)).first()
        if row is None:
            raise BrokerError(f"no token {token_id}", reason="unknown")
        return _info(row._asdict())

    def revoke(self, token_id: str) -> TokenInfo:
        """Revoke one token now (idempotent: a revoked token keeps its first revocation time)."""
        with db.transaction(self.engine) as conn:
            conn.execute(
                tokens.update()
                .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )
        info = self.get(token_id)
        self._record("token_revoked", info)
        return info

    def suspend_session(self, session: str, reason: str) -> list[TokenInfo]:
        """Suspend every live token of ``session`` at once; returns the tokens it suspended."""
        now = self.clock()
        live = sa.and_(
            tokens.c.session == session,
            tokens.c.revoked_at.is_(None),
            tokens.c.suspended_at.is_(None),
        )
        with db.transaction(self.engine) as conn:
            ids = list(conn.execute(sa.select(tokens.c.id).where(live)).scalars())
            if ids:
                conn.execute(
                    tokens.update()
                    .where(live, tokens.c.id.in_(ids))
                    .values(suspended_at=now, suspend_reason=reason[:500])
                )
        suspended = [self.get(token_id) for token_id in ids]
        for info in suspended:
            self._record("token_suspended", info, reason=reason[:500])
        return suspended

    def list(self, *, session: str | None = None) -> list[TokenInfo]:
        """Every token (all states), oldest first; ``session`` narrows to one session."""
        query = sa.select(tokens).order_by(tokens.c.created_at, tokens.c.id)
        if session is not None:
            query = query.where(tokens.c.session == session)
        with db.read(self.engine) as conn:
            return [_info(row._asdict()) for row in conn.execute(query)]

    def _record(self, event: str, info: TokenInfo, **extra: Any) -> None:
        if self.audit is None:
            return
        detail = {
            # "ref", not "token_id": the audit log masks any field named like a token.
            "ref": info.id,
            "agent": info.agent,
            "session": info.session,
            "environment": info.environment,
            "upstreams": list(info.upstreams),
            "operations": list(info.operations),
            "expires_at": info.expires_at,
            "label": info.label,
            **extra,
        }
        self.audit.append(
            {"type": "broker", "event": event, "actor": {"name": self.actor}, "detail": detail}
        )


_BY_HASH = sa.select(tokens).where(tokens.c.token_hash == sa.bindparam("hash"))


def _row(info: TokenInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "agent": info.agent,
        "session": info.session,
        "environment": info.environment,
        "upstreams": json.dumps(list(info.upstreams)),
        "operations": json.dumps(list(info.operations)),
        "label": info.label,
        "created_at": info.created_at,
        "expires_at": info.expires_at,
        "revoked_at": info.revoked_at,
        "suspended_at": info.suspended_at,
        "suspend_reason": info.suspend_reason,
    }


def _info(row: dict[str, Any]) -> TokenInfo:
    return TokenInfo(
        id=row["id"],
        agent=row["agent"],
        session=row["session"],
        environment=row["environment"],
        upstreams=tuple(json.loads(row["upstreams"])),
        operations=tuple(json.loads(row["operations"])),
        created_at=float(row["created_at"]),
        expires_at=float(row["expires_at"]),
        revoked_at=row["revoked_at"],
        suspended_at=row["suspended_at"],
        label=row["label"],
        suspend_reason=row["suspend_reason"],
    )


def _names(what: str, values: Iterable[str]) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(values))
    if not found:
        raise BrokerError(f"a token needs at least one {what}", reason="invalid")
    for value in found:
        if not isinstance(value, str) or not NAME.match(value):
            raise BrokerError(
                f"{what} {value!r} is not 1-63 lower-case letters, digits, '.', '_' or '-'",
                reason="invalid",
            )
    return found


def _operations(values: Iterable[str]) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(values))
    if not found:
        raise BrokerError("a token needs at least one operation ('*' for any)", reason="invalid")
    for value in found:
        if not isinstance(value, str) or not _OPERATION.match(value):
            raise BrokerError(
                f"operation {value!r} is not a pattern like volume.delete, db.* or *",
                reason="invalid",
            )
    return found


def _check(agent: str, session: str, environment: str, ttl: float, label: str) -> None:
    if not _AGENT.match(agent):
        raise BrokerError(f"agent {agent!r} is not a plain name", reason="invalid")
    if not _SESSION.match(session):
        raise BrokerError(f"session {session!r} is not a plain id", reason="invalid")
    if not NAME.match(environment):
        raise BrokerError(
            f"environment {environment!r} is not 1-63 lower-case letters, digits, '.', '_' or '-'",
            reason="invalid",
        )
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not MIN_TTL <= ttl <= MAX_TTL:
        raise BrokerError(
            f"a token lives from {MIN_TTL} seconds to {MAX_TTL // 86400} days (ttl {ttl!r})",
            reason="invalid",
        )
    if len(label) > 200 or any(c in label for c in "\r\n\x00"):
        raise BrokerError("a label is one line of at most 200 characters", reason="invalid")
