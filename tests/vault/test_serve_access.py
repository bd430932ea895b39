"""access.py: the served vault's credentials (admin key, writer tokens, hashes only)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from interlock.vault import access
from interlock.vault.errors import VaultError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "vault"
    folder.mkdir()
    return folder


def test_admin_key_is_made_once_and_only_its_hash_is_kept(root: Path) -> None:
    key = access.init_admin(root)
    assert re.fullmatch(r"ilva_[A-Za-z0-9_-]{43}", key)
    stored = (root / "access.json").read_text()
    assert key not in stored and key[5:] not in stored
    assert (root / "access.json").stat().st_mode & 0o777 == 0o600
    assert access.check(root, key) == "admin"
    with pytest.raises(VaultError, match="already has an admin key"):
        access.init_admin(root)
    assert access.check(root, key) == "admin"  # the refusal changed nothing


def test_writers_are_added_checked_listed_and_revoked(root: Path) -> None:
    first = access.add_writer(root, "nightly")
    second = access.add_writer(root, "gateway")
    assert re.fullmatch(r"ilvw_[A-Za-z0-9_-]{43}", first) and first != second
    assert access.check(root, first) == "writer"
    assert access.identify(root, second) == ("writer", "gateway")
    listed = access.writers(root)
    assert [w["name"] for w in listed] == ["nightly", "gateway"]
    assert all(set(w) == {"name", "created", "revoked"} for w in listed)
    access.revoke_writer(root, "nightly")
    assert access.check(root, first) is None
    assert access.check(root, second) == "writer"
    assert access.writers(root)[0]["revoked"] is not None
    assert first not in (root / "access.json").read_text()


@pytest.mark.parametrize(
    "presented", ["", "ilk_" + "a" * 43, "ilvw_" + "a" * 43, "Bearer x", "\udcff", "x" * 10000]
)
def test_anything_else_is_refused(root: Path, presented: str) -> None:
    access.init_admin(root)
    access.add_writer(root, "nightly")
    assert access.check(root, presented) is None


def test_names_are_checked_and_never_reused(root: Path) -> None:
    access.add_writer(root, "nightly")
    access.revoke_writer(root, "nightly")
    with pytest.raises(VaultError, match="already has a writer named nightly"):
        access.add_writer(root, "nightly")
    for bad in ("", "../x", "a b", "-x", "x" * 65):
        with pytest.raises(VaultError, match="not a writer name"):
            access.add_writer(root, bad)
    with pytest.raises(VaultError, match="no writer named"):
        access.revoke_writer(root, "nobody")


def test_a_file_open_to_others_or_damaged_is_refused_not_trusted(root: Path) -> None:
    token = access.add_writer(root, "nightly")
    path = root / "access.json"
    os.chmod(path, 0o644)
    with pytest.raises(VaultError, match="refusing to trust it") as caught:
        access.check(root, token)
    assert token not in str(caught.value)
    os.chmod(path, 0o600)
    data = json.loads(path.read_text())
    data["writers"][0]["sha256"] = "not a hash"
    path.write_text(json.dumps(data))
    with pytest.raises(VaultError, match="damaged"):
        access.check(root, token)


def test_no_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="no vault folder"):
        access.add_writer(tmp_path / "missing", "nightly")
