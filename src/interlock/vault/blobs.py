"""Sealing: what turns a plaintext into the bytes the vault stores, and back.

A stored blob is ``MAGIC (4) | kind (1) | nonce (12) | AES-256-GCM(zstd(plaintext))``, with
the magic and kind as associated data: a data object cannot be passed off as a manifest or the
other way round, and any flipped bit fails the tag. Each blob is compressed on its own so every
object decodes without its neighbours. Nonces are random (96 bits): with at most a few million
objects per key the collision odds stay far below NIST's 2^-32 bound.
"""

from __future__ import annotations

import os
from typing import Literal

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from interlock.vault.errors import VaultIntegrityError
from interlock.vault.keys import VaultKey

__all__ = ["MAGIC", "MAX_PLAINTEXT", "BlobKind", "seal", "unseal"]

MAGIC = b"ILV1"
BlobKind = Literal["data", "manifest"]
_KIND_BYTE: dict[str, bytes] = {"data": b"d", "manifest": b"m"}
_NONCE = 12
# Decompression stops here: a blob that claims to expand further is refused, not followed.
MAX_PLAINTEXT = 64 * 1024 * 1024
_LEVEL = 3


def seal(key: VaultKey, kind: BlobKind, plaintext: bytes) -> bytes:
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(f"a vault blob holds at most {MAX_PLAINTEXT} bytes")
    header = MAGIC + _KIND_BYTE[kind]
    nonce = os.urandom(_NONCE)
    compressed = zstandard.ZstdCompressor(level=_LEVEL).compress(plaintext)
    return header + nonce + AESGCM(key.material()).encrypt(nonce, compressed, header)


def unseal(key: VaultKey, kind: BlobKind, blob: bytes, name: str) -> bytes:
    """The plaintext, or :class:`VaultIntegrityError` naming ``name`` (never the content)."""
    header = MAGIC + _KIND_BYTE[kind]
    if blob[: len(header)] != header:
        raise VaultIntegrityError(f"{kind} {name} is not a vault {kind} blob (bad header)")
    nonce = blob[len(header) : len(header) + _NONCE]
    try:
        compressed = AESGCM(key.material()).decrypt(nonce, blob[len(header) + _NONCE :], header)
    except InvalidTag:
        raise VaultIntegrityError(f"{kind} {name} fails authentication (altered)") from None
    try:
        return zstandard.ZstdDecompressor().decompress(compressed, max_output_size=MAX_PLAINTEXT)
    except zstandard.ZstdError as exc:
        raise VaultIntegrityError(f"{kind} {name} does not decompress: {exc}") from None
