"""The vault's errors, one family under :class:`~interlock.errors.InterlockError`::

    VaultError              the vault cannot be opened, written or read, or a request is refused
    ├── VaultKeyError       no vault key, a malformed one, or not the key this vault was made with
    ├── VaultFullError      the storage under the vault is out of space (ENOSPC, EDQUOT)
    └── VaultIntegrityError an object or manifest does not match its name or fails to decrypt

The CLI catches only the base. Messages name objects and snapshots by id and sources by name,
never key material or backed-up content.
"""

from __future__ import annotations

from interlock.errors import InterlockError

__all__ = ["VaultError", "VaultFullError", "VaultIntegrityError", "VaultKeyError", "describe"]


class VaultError(InterlockError):
    hint = "see `interlock vault --help` and docs/vault.md"


class VaultKeyError(VaultError):
    hint = (
        "set INTERLOCK_VAULT_KEY to the key this vault was written with, or restore "
        "<vault>/vault.key from your offline copy (docs/vault.md)"
    )


class VaultFullError(VaultError):
    hint = (
        "free space where the vault lives (or move it to a larger volume); the backup that "
        "hit the limit wrote no manifest, so no partial backup is listed as good"
    )


class VaultIntegrityError(VaultError):
    hint = "run `interlock vault verify` to list every damaged object and the backups using it"


def describe(exc: BaseException, limit: int) -> str:
    """An error as one masked line of at most ``limit`` characters, for reports and replies:
    a VaultError's message is written for people already; anything else gets its type's name.
    Masked, since pg_dump's errors can carry a connection URL with its password."""
    from interlock.secrets import mask

    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, VaultError):
        text = f"{type(exc).__name__}: {text}"
    return mask(text.splitlines()[0] if text else text)[:limit]
