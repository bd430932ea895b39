"""Who is let in: the agent's Interlock token and the credential its request would carry.

Both are database reads (and AES-GCM for the credential), about half the gateway's own work on
a request. An agent sends many requests a second with the same token to the same upstream, so
each answer is remembered for :data:`REMEMBER` seconds:

- a token's binding (kept by the SHA-256 of the token, never the token): a revoked or
  suspended token is refused by this replica within that second; the velocity limit's own
  suspension is seen at once (:meth:`Admission.forget_session`), and so is a session stopped by
  a honeytoken (its kill file in the data folder); expiry is checked on every
  request against the clock;
- a decrypted credential, per upstream: a removed or replaced credential stops being sent
  within that second.

A refusal is never remembered: an unknown token is looked up every time.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from interlock import killswitch
from interlock.broker import keys
from interlock.broker.credentials import Credentials, Injected
from interlock.broker.tokens import TokenInfo, Tokens
from interlock.errors import BrokerError
from interlock.gateway import forward
from interlock.gateway.settings import Upstream

__all__ = ["REMEMBER", "Admission"]

REMEMBER = 1.0
"""Seconds a token's binding and a decrypted credential are used without reading them again."""
_MAX = 10_000


class Admission:
    """Tokens and credentials, read from the broker and remembered briefly."""

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.tokens = Tokens(engine, clock=wall)
        self.engine = engine
        self.data_dir = data_dir
        self.clock = clock
        self.wall = wall
        self._credentials: Credentials | None = None
        self._known: dict[str, tuple[TokenInfo, float]] = {}
        self._injected: dict[str, tuple[Injected | None, float]] = {}

    # --- without I/O (the event loop) -------------------------------------------------------

    def recall_token(self, presented: str) -> TokenInfo | None:
        found = self._known.get(_key(presented))
        if found is None or self.clock() - found[1] > REMEMBER:
            return None
        info = found[0]
        if info.state(self.wall()) != "active" or self._stopped(info.session):
            return None
        return info

    def _stopped(self, session: str | None) -> bool:
        """A session a honeytoken (or a person) stopped, in this server's folder: one ``stat``.

        A stop that arrives through ``/api/v1/alerts`` suspends the session's tokens in the
        database, which this memory would otherwise notice only after :data:`REMEMBER`.
        """
        path = self.data_dir / killswitch.SESSIONS_DIR / killswitch.session_key(session)
        return os.access(path, os.F_OK)

    def recall_credential(self, upstream: Upstream) -> tuple[bool, Injected | None]:
        """(known, credential): ``known`` False means it must be read."""
        found = self._injected.get(upstream.name)
        if found is None or self.clock() - found[1] > REMEMBER:
            return False, None
        return True, found[0]

    def forget_session(self, session: str) -> None:
        self._known = {k: v for k, v in self._known.items() if v[0].session != session}

    # --- with I/O (a worker thread) ---------------------------------------------------------

    def authenticate(self, presented: str) -> TokenInfo:
        """The token's binding; :class:`BrokerError` (with its reason) when it is refused."""
        info = self.tokens.authenticate(presented)
        if len(self._known) >= _MAX:
            self._known.clear()
        self._known[_key(presented)] = (info, self.clock())
        return info

    def credential(self, upstream: Upstream) -> Injected | None:
        """The broker credential for ``upstream``: the one named in its settings, else the one
        stored for it, else none. :class:`BrokerError` when a named one cannot be read."""
        found: Injected | None
        try:
            if self._credentials is None:
                self._credentials = Credentials(self.engine, keys.load(self.data_dir))
            if upstream.credential:
                found = self._credentials.get(upstream.credential)
            else:
                found = self._credentials.for_upstream(upstream.name)
        except BrokerError as exc:
            if upstream.credential is not None or exc.reason != "no_key":
                raise
            found = None  # no broker key, so nothing is stored for anyone
        if found is not None:
            forward.LOG_FILTER.secrets.update(
                b.decode() for b in forward.secret_forms(found.value.reveal())
            )
        self._injected[upstream.name] = (found, self.clock())
        return found


def _key(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()
