"""Sealing: compressed, encrypted, authenticated, and bound to its kind."""

from __future__ import annotations

import os

import pytest

from interlock.vault import VaultIntegrityError
from interlock.vault.blobs import seal, unseal
from interlock.vault.keys import VaultKey

KEY = VaultKey(os.urandom(32), "test")


def test_round_trip_compresses() -> None:
    plaintext = b"row,row,row\n" * 1000
    blob = seal(KEY, "data", plaintext)
    assert len(blob) < len(plaintext) // 10
    assert unseal(KEY, "data", blob, "x") == plaintext


@pytest.mark.parametrize("where", [0, 5, 20, -1])
def test_any_flipped_bit_is_refused(where: int) -> None:
    blob = bytearray(seal(KEY, "data", b"payload" * 10))
    blob[where] ^= 0x01
    with pytest.raises(VaultIntegrityError, match="x"):
        unseal(KEY, "data", bytes(blob), "x")


def test_a_data_object_cannot_pass_for_a_manifest_nor_open_under_another_key() -> None:
    blob = seal(KEY, "data", b"{}")
    with pytest.raises(VaultIntegrityError, match="bad header"):
        unseal(KEY, "manifest", blob, "x")
    with pytest.raises(VaultIntegrityError, match="fails authentication"):
        unseal(VaultKey(os.urandom(32)), "data", blob, "x")


def test_the_key_never_shows_in_its_repr() -> None:
    material = os.urandom(32)
    key = VaultKey(material)
    assert material.hex() not in repr(key) and str(material) not in str(key)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(key)
