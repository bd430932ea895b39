"""The broker key: from the environment or a private key file; a bad one is refused clearly."""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path

import pytest

from interlock.broker import keys
from interlock.errors import BrokerError


def _b64(material: bytes) -> str:
    return base64.b64encode(material).decode()


def test_the_environment_wins_over_the_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_file = keys.load(tmp_path, create=True)
    material = os.urandom(32)
    monkeypatch.setenv(keys.ENV, _b64(material))
    key = keys.load(tmp_path)
    assert key.material() == material
    assert key.source == keys.ENV
    assert key.id != on_file.id


@pytest.mark.parametrize(
    "value", ["not base64 at all!!", _b64(os.urandom(16)), _b64(os.urandom(33)), ""]
)
def test_a_malformed_key_in_the_environment_is_refused_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(keys.ENV, value)
    with pytest.raises(BrokerError) as caught:
        keys.load(tmp_path)
    assert caught.value.reason == "bad_key"
    assert keys.ENV in str(caught.value)
    if value:
        assert value not in caught.value.diagnostics()


def test_the_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    with pytest.raises(BrokerError) as caught:
        keys.load(tmp_path)
    assert caught.value.reason == "no_key"
    first = keys.load(tmp_path, create=True)
    path = keys.key_path(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert keys.load(tmp_path).material() == first.material()
    assert keys.load(tmp_path, create=True).id == first.id
    assert [p.name for p in tmp_path.iterdir()] == [keys.FILE_NAME], "no temporary file left"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_key_file_others_can_reach_is_refused(tmp_path: Path, mode: int) -> None:
    keys.load(tmp_path, create=True)
    keys.key_path(tmp_path).chmod(mode)
    with pytest.raises(BrokerError) as caught:
        keys.load(tmp_path)
    assert caught.value.reason == "bad_key"
    assert f"{mode:04o}" in str(caught.value)
    with pytest.raises(BrokerError):
        keys.load(tmp_path, create=True)  # and it is not silently replaced either


def test_a_key_file_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    keys.load(elsewhere, create=True)
    folder = tmp_path / "data"
    folder.mkdir()
    keys.key_path(folder).symlink_to(keys.key_path(elsewhere))
    with pytest.raises(BrokerError):
        keys.load(folder)


def test_a_key_file_of_garbage_is_refused(tmp_path: Path) -> None:
    path = keys.key_path(tmp_path)
    path.write_text("hunter2-is-not-a-key\n")
    path.chmod(0o600)
    with pytest.raises(BrokerError) as caught:
        keys.load(tmp_path)
    assert "hunter2" not in caught.value.diagnostics()


def test_processes_creating_the_key_at_once_end_with_one_key(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)
    found: list[str] = []

    def create() -> None:
        barrier.wait()
        found.append(keys.load(tmp_path, create=True).id)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8 and len(set(found)) == 1


def test_the_key_never_shows_in_a_repr(tmp_path: Path) -> None:
    key = keys.load(tmp_path, create=True)
    text = repr(key) + str(key) + f"{key}"
    assert key.material().hex() not in text
    assert _b64(key.material()) not in text
    assert keys.key_path(tmp_path).read_text().strip() not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(key)


def test_a_key_must_be_32_bytes() -> None:
    with pytest.raises(BrokerError):
        keys.BrokerKey(b"short")
