"""The broker key: 32 bytes that encrypt every stored credential, never kept in the database.

Where it comes from, first match wins:

1. ``INTERLOCK_BROKER_KEY``: the key as base64 (``head -c 32 /dev/urandom | base64``), for
   replicas and containers, where a secret manager injects it;
2. ``<data_dir>/broker.key``: the same base64 text in a file of mode 0600, created on first use
   by ``interlock credential add``. A key file that others can read or write is refused, not
   repaired: someone may already have copied it (an adversary with a copy of the database and
   the key holds every credential).

A database stolen without the key holds only ciphertext. Losing the key loses the credentials
(add them again); it does not lose anything else.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

from interlock import keyfile
from interlock.errors import BrokerError

__all__ = ["ENV", "FILE_NAME", "KEY_BYTES", "BrokerKey", "generate", "key_path", "load"]

ENV = "INTERLOCK_BROKER_KEY"
FILE_NAME = "broker.key"
KEY_BYTES = keyfile.KEY_BYTES


class BrokerKey:
    """The key, with a repr that does not show it and an id that names it without revealing it.

    ``id`` is an HMAC of a fixed label under the key: stored with every credential, it tells
    "encrypted under another key" apart from "tampered with" when decryption fails.
    """

    __slots__ = ("_material", "id", "source")

    def __init__(self, material: bytes, source: str = "") -> None:
        if not isinstance(material, bytes) or len(material) != KEY_BYTES:
            raise BrokerError(
                f"the broker key must be {KEY_BYTES} bytes",
                f"make one with `head -c {KEY_BYTES} /dev/urandom | base64` ({ENV})",
                reason="bad_key",
            )
        self._material = material
        self.source = source
        self.id = hmac.new(material, b"interlock broker key id", hashlib.sha256).hexdigest()[:16]

    def material(self) -> bytes:
        """The raw key, for the cipher only."""
        return self._material

    def __repr__(self) -> str:
        return f"BrokerKey(id={self.id!r}, source={self.source!r})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("a BrokerKey cannot be pickled")


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def generate() -> BrokerKey:
    return BrokerKey(os.urandom(KEY_BYTES), "generated")


def load(data_dir: Path, *, create: bool = False) -> BrokerKey:
    """The broker key from ``$INTERLOCK_BROKER_KEY``, else the key file in ``data_dir``.

    ``create``: write a new key file when there is none (``interlock credential add``);
    everything else that only reads credentials must find an existing key.
    """
    encoded = os.environ.get(ENV)
    if encoded is not None:
        return BrokerKey(_decode(encoded, ENV), ENV)
    path = key_path(data_dir)
    if not path.exists():
        if not create:
            raise BrokerError(
                f"no broker key: {ENV} is not set and {path} does not exist",
                "add a credential first (`interlock credential add`), or set "
                f"{ENV} to the key the credentials were stored with",
                reason="no_key",
            )
        return _create(path)
    return BrokerKey(_decode(_read(path), str(path)), str(path))


def _fail(message: str, hint: str) -> BrokerError:
    return BrokerError(message, hint, reason="bad_key")


def _decode(encoded: str, where: str) -> bytes:
    return keyfile.decode(encoded, where, "broker key", _fail)


def _read(path: Path) -> str:
    return keyfile.read_private(
        path,
        "broker key",
        _fail,
        "anyone who read it can decrypt every credential: make a new key, "
        "`chmod 600` it and add the credentials again (docs/broker.md)",
    )


def _create(path: Path) -> BrokerKey:
    material, _ = keyfile.create(path, lambda p: _decode(_read(p), str(p)))
    return BrokerKey(material, str(path))
