"""Interlock's vault: backups in a store no agent path can delete (issue 7, docs/vault.md).

The design reads from the file names, as in litestream: ``keys`` (the vault key, never the
broker's), ``blobs`` (zstd then AES-256-GCM), ``backends/`` (write-once storage, one module
per backend), ``manifests`` (what a backup is), ``repository`` (the write order: data, then
manifest), ``verify`` (every hash and reference), ``sources/`` (what gets backed up).
"""

from __future__ import annotations

from interlock.vault.errors import VaultError, VaultFullError, VaultIntegrityError, VaultKeyError
from interlock.vault.repository import Repository, Snapshot, open_local, open_vault
from interlock.vault.verify import Report, verify

__all__ = [
    "Report",
    "Repository",
    "Snapshot",
    "VaultError",
    "VaultFullError",
    "VaultIntegrityError",
    "VaultKeyError",
    "open_local",
    "open_vault",
    "verify",
]
