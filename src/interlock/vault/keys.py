"""The vault key: 32 bytes that encrypt every object and manifest in the vault.

It is not the broker key and the gateway and agents never hold it: the credential paths to the
vault and to production are disjoint by construction (docs/vault.md, threat model). Where it
comes from, first match wins:

1. ``INTERLOCK_VAULT_KEY``: the key as base64 (``head -c 32 /dev/urandom | base64``);
2. ``<vault>/vault.key``: the same text in a file of mode 0600 in the vault's own data folder,
   created by the first backup. A key file that others can read or write is refused, not
   repaired: someone may already have copied it.

Losing the key loses every backup in the vault; keep a copy offline (docs/vault.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

from interlock import keyfile
from interlock.vault.errors import VaultKeyError

__all__ = ["ENV", "FILE_NAME", "KEY_BYTES", "VaultKey", "load"]

ENV = "INTERLOCK_VAULT_KEY"
FILE_ENV = "INTERLOCK_VAULT_KEY_FILE"
FILE_NAME = "vault.key"
KEY_BYTES = keyfile.KEY_BYTES


class VaultKey:
    """The key, with a repr that hides it and an id that names it without revealing it.

    ``id`` (an HMAC of a fixed label) is written in the vault's config: a wrong key is then
    "this vault was made with key X" rather than every object looking corrupt.
    """

    __slots__ = ("_material", "id", "source")

    def __init__(self, material: bytes, source: str = "") -> None:
        if not isinstance(material, bytes) or len(material) != KEY_BYTES:
            raise VaultKeyError(f"the vault key must be {KEY_BYTES} bytes")
        self._material = material
        self.source = source
        self.id = hmac.new(material, b"interlock vault key id", hashlib.sha256).hexdigest()[:16]

    def material(self) -> bytes:
        """The raw key, for the cipher only."""
        return self._material

    def __repr__(self) -> str:
        return f"VaultKey(id={self.id!r}, source={self.source!r})"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:
        raise TypeError("a VaultKey cannot be pickled")


def load(vault_dir: Path | None, *, create: bool = False) -> VaultKey:
    """The key from ``$INTERLOCK_VAULT_KEY``, else the file ``$INTERLOCK_VAULT_KEY_FILE``, else
    ``<vault_dir>/vault.key``. A vault reached over the network (``vault_dir`` None: a
    ``vault serve`` URL or S3) has no folder here, so its key must come from one of the two
    variables: the store never holds the key that opens it.

    ``create``: write a new key file when there is none (the first backup); reading commands
    (list, verify, restore) must find the key the vault was written with.
    """
    encoded = os.environ.get(ENV)
    if encoded is not None:
        return VaultKey(_decode(encoded, ENV), ENV)
    named = os.environ.get(FILE_ENV)
    if named:
        path = Path(named).expanduser()
    elif vault_dir is None:
        raise VaultKeyError(
            f"no vault key: a remote vault's key comes from {ENV} or {FILE_ENV}, neither is set"
        )
    else:
        path = Path(vault_dir) / FILE_NAME
    if not path.exists():
        if not create:
            raise VaultKeyError(f"no vault key: {ENV} is not set and {path} does not exist")
        return _create(path)
    return VaultKey(_decode(_read(path), str(path)), str(path))


def _fail(message: str, hint: str) -> VaultKeyError:
    return VaultKeyError(message, hint) if hint else VaultKeyError(message)


def _decode(encoded: str, where: str) -> bytes:
    return keyfile.decode(encoded, where, "vault key", _fail)


def _read(path: Path) -> str:
    return keyfile.read_private(
        path,
        "vault key",
        _fail,
        "anyone who read it can decrypt every backup: `chmod 600` it, and consider "
        "the backups readable by whoever could see it",
    )


def _create(path: Path) -> VaultKey:
    material, _ = keyfile.create(path, lambda p: _decode(_read(p), str(p)))
    return VaultKey(material, str(path))
