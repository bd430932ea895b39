"""Upstream credentials, encrypted at rest, handed out only to the gateway that injects them.

Each value is sealed with AES-256-GCM (the ``cryptography`` library) under the broker key
(keys.py), with a fresh 12-byte nonce and the credential's name and upstream as associated
data. So a stolen database yields only ciphertext, a flipped bit fails to decrypt instead of
sending garbage upstream, and a row whose name or upstream was edited (making the staging
credential answer for production, or the reverse) is refused rather than injected.

Values leave this module only as :class:`~interlock.secrets.Secret`; listings show a hint of
at most four characters, and only of values long enough that four characters give nothing
useful away.
"""

from __future__ import annotations

import base64
import getpass
import hmac
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Engine

from interlock.audit import AuditLog
from interlock.broker.keys import ENV, BrokerKey
from interlock.errors import BrokerError
from interlock.secrets import MASK, Secret
from interlock.server import db
from interlock.server.db import credentials

__all__ = ["CredentialInfo", "Credentials", "Injected", "associated_data"]

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
"""Credential and upstream names: they appear in URLs (/gateway/<upstream>) and file names."""
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")  # an HTTP token (RFC 9110)
_SCHEME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{0,40}$")
MAX_VALUE = 16 * 1024
HINT_MIN_LENGTH = 20
"""Below this length a value gets no hint at all: four characters of a short secret are too much."""


@dataclass(frozen=True)
class Injected:
    """What the gateway adds to a forwarded request: ``header: value``.

    ``value`` is the whole header value (``Bearer <secret>``, or the secret alone when the
    credential has no scheme); ``name`` is the credential's name, for audit records.
    """

    header: str
    value: Secret
    name: str = ""


@dataclass(frozen=True)
class CredentialInfo:
    """A credential without its value: what `interlock credential list` shows."""

    name: str
    upstream: str
    header: str
    scheme: str
    hint: str
    key_id: str
    created_at: float


def associated_data(name: str, upstream: str) -> bytes:
    """What each ciphertext is bound to: moving it to another name or upstream breaks it."""
    return b"interlock-broker/v1\x00" + name.encode() + b"\x00" + upstream.encode()


class Credentials:
    """The encrypted credential store on the server's database."""

    def __init__(
        self,
        engine: Engine,
        key: BrokerKey | bytes | None,
        clock: Callable[[], float] = time.time,
        *,
        audit: AuditLog | None = None,
        actor: str = "",
    ) -> None:
        """``key`` None: only what needs no decryption (list, names, remove)."""
        self.engine = engine
        self._key = key if isinstance(key, BrokerKey) or key is None else BrokerKey(key)
        self._aead = AESGCM(self._key.material()) if self._key is not None else None
        self.clock = clock
        self.audit = audit
        """Where adds and removals are recorded (names only, never values), if given."""
        self.actor = actor or os_user()

    def __repr__(self) -> str:
        return f"Credentials(key={self._key!r})"

    @property
    def key(self) -> BrokerKey:
        if self._key is None:
            raise BrokerError("the broker key is needed to store or read a credential's value")
        return self._key

    @property
    def aead(self) -> AESGCM:
        if self._aead is None:
            raise BrokerError("the broker key is needed to store or read a credential's value")
        return self._aead

    def add(
        self,
        name: str,
        upstream: str,
        value: str | Secret,
        header: str = "authorization",
        scheme: str = "Bearer",
        *,
        replace: bool = False,
    ) -> CredentialInfo:
        """Encrypt and store ``value``; an existing name is refused unless ``replace``."""
        secret = value.reveal() if isinstance(value, Secret) else value
        _check(name, upstream, secret, header, scheme)
        nonce = os.urandom(12)
        sealed = self.aead.encrypt(nonce, secret.encode(), associated_data(name, upstream))
        row = {
            "name": name,
            "upstream": upstream,
            "header": header.lower(),
            "scheme": scheme,
            "key_id": self.key.id,
            "nonce": base64.b64encode(nonce).decode("ascii"),
            "ciphertext": base64.b64encode(sealed).decode("ascii"),
            "hint": hint(secret),
            "created_at": self.clock(),
        }
        with db.transaction(self.engine) as conn:
            others = conn.execute(
                sa.select(credentials.c.key_id).where(credentials.c.key_id != self.key.id).limit(1)
            ).scalar()
            if others is not None:
                # Two keys in one store: whichever the gateway holds, some credentials fail.
                raise BrokerError(
                    f"the stored credentials were encrypted under another broker key "
                    f"(key id {others}; this key is {self.key.id}, from {self.key.source})",
                    f"use the key they were stored with ({ENV} or the key file), or remove "
                    "them first",
                    reason="wrong_key",
                )
            exists = conn.execute(
                sa.select(credentials.c.name).where(credentials.c.name == name)
            ).first()
            if exists and not replace:
                raise BrokerError(
                    f"credential {name} exists",
                    "remove it first, or pass --replace to store the new value",
                    reason="exists",
                )
            if exists:
                conn.execute(credentials.delete().where(credentials.c.name == name))
            conn.execute(credentials.insert().values(**row))
        info = _info(row)
        self._record("credential_replaced" if exists else "credential_added", info)
        return info

    def remove(self, name: str) -> None:
        with db.transaction(self.engine) as conn:
            row = conn.execute(sa.select(credentials).where(credentials.c.name == name)).first()
            if row is not None:
                conn.execute(credentials.delete().where(credentials.c.name == name))
        if row is None:
            raise BrokerError(f"no credential {name}", reason="unknown")
        self._record("credential_removed", _info(row._asdict()))

    def names(self) -> list[str]:
        with db.read(self.engine) as conn:
            query = sa.select(credentials.c.name).order_by(credentials.c.name)
            return list(conn.execute(query).scalars().all())

    def list(self) -> list[CredentialInfo]:
        with db.read(self.engine) as conn:
            rows = conn.execute(sa.select(credentials).order_by(credentials.c.name)).mappings()
            return [_info(dict(row)) for row in rows]

    def get(self, name: str) -> Injected:
        """The named credential, decrypted; :class:`BrokerError` when missing or unreadable."""
        with db.read(self.engine) as conn:
            row = conn.execute(sa.select(credentials).where(credentials.c.name == name)).first()
        if row is None:
            raise BrokerError(f"no credential {name}", reason="unknown")
        return self._open(row._asdict())

    def for_upstream(self, upstream: str) -> Injected | None:
        """The credential stored for ``upstream``, decrypted; None when there is none.

        Two credentials for one upstream are an error, not a choice: the gateway must not guess
        which authority a request gets (name the credential in [gateway.upstreams] instead).
        """
        with db.read(self.engine) as conn:
            rows = conn.execute(
                sa.select(credentials).where(credentials.c.upstream == upstream).limit(2)
            ).all()
        if not rows:
            return None
        if len(rows) > 1:
            raise BrokerError(
                f"more than one credential is stored for upstream {upstream}",
                "remove one, or name the credential in [gateway.upstreams.<name>] credential",
                reason="ambiguous",
            )
        return self._open(rows[0]._asdict())

    def verify(self) -> dict[str, BrokerError | None]:
        """Each credential's name and what decrypting it gives: None (fine) or the error.

        For `interlock credential verify`: a wrong key or a tampered row is found before the
        gateway needs the credential, and no value is ever returned.
        """
        with db.read(self.engine) as conn:
            rows = conn.execute(sa.select(credentials).order_by(credentials.c.name)).all()
        found: dict[str, BrokerError | None] = {}
        for row in rows:
            try:
                self._open(row._asdict())
            except BrokerError as exc:
                found[row.name] = exc
            else:
                found[row.name] = None
        return found

    def _open(self, row: dict[str, object]) -> Injected:
        name, upstream = str(row["name"]), str(row["upstream"])
        if not hmac.compare_digest(str(row["key_id"]), self.key.id):
            raise BrokerError(
                f"credential {name} was stored under another broker key "
                f"(key id {row['key_id']}; this key is {self.key.id})",
                f"use the key it was stored with ({self.key.source or ENV} holds another), "
                "or add the credential again",
                reason="wrong_key",
            )
        try:
            nonce = base64.b64decode(str(row["nonce"]), validate=True)
            sealed = base64.b64decode(str(row["ciphertext"]), validate=True)
            plain = self.aead.decrypt(nonce, sealed, associated_data(name, upstream))
        except (InvalidTag, ValueError):
            raise BrokerError(
                f"credential {name} for upstream {upstream} does not decrypt: its row was "
                "altered (value, name or upstream) after it was stored",
                "treat the database as tampered with; add the credential again",
                reason="tampered",
            ) from None
        scheme = str(row["scheme"])
        secret = plain.decode()
        return Injected(
            header=str(row["header"]),
            value=Secret(f"{scheme} {secret}" if scheme else secret),
            name=name,
        )

    def _record(self, event: str, info: CredentialInfo) -> None:
        if self.audit is None:
            return
        # Names, never the value or its hint: the audit log outlives any rotation.
        detail = {
            "name": info.name,
            "upstream": info.upstream,
            "header": info.header,
            "scheme": info.scheme,
            "key_id": info.key_id,
        }
        self.audit.append(
            {"type": "broker", "event": event, "actor": {"name": self.actor}, "detail": detail}
        )


def os_user() -> str:
    """Who ran the command, for audit records."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def hint(value: str) -> str:
    """``abcd…****`` for a long value, ``****`` for a short one."""
    if len(value) < HINT_MIN_LENGTH:
        return MASK
    return value[:4] + "…" + MASK


def _info(row: dict[str, object]) -> CredentialInfo:
    return CredentialInfo(
        name=str(row["name"]),
        upstream=str(row["upstream"]),
        header=str(row["header"]),
        scheme=str(row["scheme"]),
        hint=str(row["hint"]) or MASK,
        key_id=str(row["key_id"]),
        created_at=float(str(row["created_at"])),
    )


def _check(name: str, upstream: str, value: str, header: str, scheme: str) -> None:
    if not NAME.match(name):
        raise BrokerError(
            f"credential name {name!r} is not 1-63 lower-case letters, digits, '.', '_' or '-'",
            reason="invalid",
        )
    if not NAME.match(upstream):
        raise BrokerError(
            f"upstream {upstream!r} is not 1-63 lower-case letters, digits, '.', '_' or '-'",
            reason="invalid",
        )
    if not _HEADER.match(header):
        raise BrokerError(f"header {header!r} is not an HTTP header name", reason="invalid")
    if not _SCHEME.match(scheme):
        raise BrokerError(
            f"scheme {scheme!r} must be one word (Bearer, Token, Basic) or empty",
            reason="invalid",
        )
    # The value is never quoted back: only what is wrong with it.
    if not value or not value.strip():
        raise BrokerError("the credential's value is empty", reason="invalid")
    if len(value) > MAX_VALUE:
        raise BrokerError(f"the credential's value is over {MAX_VALUE} bytes", reason="invalid")
    if any(c in value for c in "\r\n\x00") or value != value.strip():
        raise BrokerError(
            "the credential's value has a line break, a NUL or surrounding spaces; "
            "it would not survive as an HTTP header",
            reason="invalid",
        )
