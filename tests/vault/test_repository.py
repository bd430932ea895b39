"""The format's invariants: sealed write-once objects named by their stored bytes, manifests
last, and verify naming every missing or damaged object."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from interlock.vault import Repository, VaultIntegrityError, VaultKeyError, open_local, verify
from interlock.vault.backends import ObjectExists
from interlock.vault.manifests import Manifest
from interlock.vault.repository import now


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def _backup(repository: Repository, data: bytes, source: str = "app") -> str:
    started = now()
    stream = repository.write_stream(_pieces(data, repository.chunk_size))
    manifest = Manifest(
        source=source, kind="sqlite", started=started, finished=now(), stream=stream
    )
    return repository.commit(manifest).id


def _object_path(vault_dir: Path, name: str) -> Path:
    return vault_dir / "objects" / name[:2] / name


def test_objects_are_named_by_their_stored_bytes_and_hold_no_plaintext(
    repository: Repository, vault_dir: Path
) -> None:
    data = b"customer-record " * 300
    snapshot_id = _backup(repository, data)
    names = repository.backend.list("objects")
    assert len(names) == 5  # 4800 bytes in 1024-byte chunks
    for name in names:
        blob = _object_path(vault_dir, name).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == name
        assert b"customer-record" not in blob
        assert stat.S_IMODE(_object_path(vault_dir, name).stat().st_mode) == 0o400
    restored = b"".join(repository.read_stream(repository.find(snapshot_id[:8]).manifest.stream))  # type: ignore[arg-type]
    assert restored == data
    assert verify(repository).ok


def test_the_key_file_is_private_and_a_wrong_key_is_named(
    vault_dir: Path, repository: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = vault_dir / "vault.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with monkeypatch.context() as env:
        env.setenv("INTERLOCK_VAULT_KEY", "A" * 43 + "=")
        with pytest.raises(VaultKeyError, match="this vault was made with key"):
            open_local(vault_dir)
    key_file.chmod(0o644)
    with pytest.raises(VaultKeyError, match="open to other users"):
        open_local(vault_dir)


def test_a_stored_name_is_never_written_over(repository: Repository) -> None:
    _backup(repository, b"x" * 10)
    name = repository.backend.list("objects")[0]
    with pytest.raises(ObjectExists):
        repository.backend.put("objects", name, b"something else")


def test_verify_names_a_flipped_byte_and_the_backup_using_it(
    repository: Repository, vault_dir: Path
) -> None:
    snapshot_id = _backup(repository, os.urandom(3000), source="orders")
    victim = _object_path(vault_dir, repository.backend.list("objects")[1])
    victim.chmod(0o600)
    blob = bytearray(victim.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    victim.write_bytes(bytes(blob))

    report = verify(repository)
    assert not report.ok
    assert len(report.problems) == 1
    assert victim.name in report.problems[0]
    assert "does not match its name" in report.problems[0]
    assert snapshot_id[:12] in report.problems[0] and "orders" in report.problems[0]
    with pytest.raises(VaultIntegrityError):
        b"".join(repository.read_stream(repository.load(snapshot_id).manifest.stream))  # type: ignore[arg-type]


def test_verify_names_a_missing_object(repository: Repository, vault_dir: Path) -> None:
    _backup(repository, os.urandom(2500))
    gone = repository.backend.list("objects")[0]
    _object_path(vault_dir, gone).unlink()
    report = verify(repository)
    assert [p for p in report.problems if p.startswith(f"missing object {gone}")]


def test_verify_names_a_damaged_manifest(repository: Repository, vault_dir: Path) -> None:
    snapshot_id = _backup(repository, b"data")
    path = vault_dir / "snapshots" / snapshot_id
    path.chmod(0o600)
    path.write_bytes(path.read_bytes()[:-1])
    report = verify(repository)
    assert report.problems and report.problems[0].startswith(f"corrupt snapshot {snapshot_id}")


def test_a_forged_object_under_its_own_hash_is_not_taken_for_the_real_one(
    repository: Repository, vault_dir: Path
) -> None:
    """Renaming a tampered object to its new hash passes the name check; the backup still
    names the original, so verify reports that one missing (and the key would refuse the
    forgery anyway: see test_blobs)."""
    _backup(repository, os.urandom(500))
    name = repository.backend.list("objects")[0]
    path = _object_path(vault_dir, name)
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0x80
    forged = hashlib.sha256(bytes(blob)).hexdigest()
    path.unlink()
    target = _object_path(vault_dir, forged)
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(bytes(blob))
    report = verify(repository)
    assert [p for p in report.problems if p.startswith(f"missing object {name}")]
    assert report.unreferenced == 1
