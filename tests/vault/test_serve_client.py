"""backends/rest.py: the client of `vault serve`, its refusals and its errors.

A full disk cannot be made on demand without root, so that case runs the real app under a real
uvicorn server in a thread, over a LocalBackend whose disk fills up (the storage-fault seam of
test_faults.py); everything else needs no server or uses the real process of test_serve.py.
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from interlock.vault import access
from interlock.vault.backends import ObjectExists
from interlock.vault.backends.local import LocalBackend
from interlock.vault.backends.rest import TOKEN_ENV, RestBackend, from_url
from interlock.vault.errors import VaultError, VaultFullError
from interlock.vault.serve import Failures, build_app

TOKEN = "ilvw_" + "x" * 43


class FullDisk(LocalBackend):
    """The disk fills up after ``room`` bytes."""

    def __init__(self, root: Path, room: int) -> None:
        super().__init__(root)
        self.room = room

    def _write(self, fd: int, data: bytes) -> None:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        super()._write(fd, data)


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def full_disk_server(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    root = tmp_path / "vault"
    root.mkdir()
    token = access.add_writer(root, "nightly")
    app = build_app(root, backend=FullDisk(root, room=10_000))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_port(), log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{server.config.port}", token, root
    server.should_exit = True
    thread.join(timeout=10)


def test_a_full_disk_is_507_and_a_vault_full_error(full_disk_server: tuple[str, str, Path]) -> None:
    url, token, root = full_disk_server
    backend = RestBackend(url, token)
    small = os.urandom(1000)
    backend.put("objects", hashlib.sha256(small).hexdigest(), small)
    big = os.urandom(20_000)
    name = hashlib.sha256(big).hexdigest()
    with pytest.raises(VaultFullError, match="out of space") as caught:
        backend.put("objects", name, big)
    assert token not in str(caught.value)
    assert not backend.exists("objects", name)
    assert backend.list("objects") == [hashlib.sha256(small).hexdigest()]
    with pytest.raises(ObjectExists):
        backend.put("objects", hashlib.sha256(small).hexdigest(), small)
    log = (root / "serve.log").read_text()
    assert '"status": 507' in log and token not in log
    backend.close()


def test_the_token_comes_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(VaultError, match=f"{TOKEN_ENV} is not set") as caught:
        from_url("http://127.0.0.1:8475")
    assert "writer-add" in caught.value.diagnostics()
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    assert from_url("http://127.0.0.1:8475/").location == "http://127.0.0.1:8475"


def test_a_credential_in_the_url_is_refused_and_not_repeated() -> None:
    with pytest.raises(VaultError, match="holds a credential") as caught:
        RestBackend("http://nightly:s3cret-value@127.0.0.1:8475", TOKEN)
    assert "s3cret-value" not in caught.value.diagnostics()


@pytest.mark.parametrize("url", ["ftp://host/x", "http://", "http://127.0.0.1:8475/?token=1"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(VaultError):
        RestBackend(url, TOKEN)


def test_plain_http_only_to_a_loopback_address() -> None:
    with pytest.raises(VaultError, match="unencrypted over the network"):
        RestBackend("http://vault.internal:8475", TOKEN)
    for url in ("http://localhost:8475", "http://[::1]:8475", "https://vault.internal"):
        assert RestBackend(url, TOKEN).location == url


def test_an_unreachable_vault_is_a_clear_error() -> None:
    backend = RestBackend(f"http://127.0.0.1:{_port()}", TOKEN)
    with pytest.raises(
        VaultError, match=r"cannot reach the vault at http://127\.0\.0\.1"
    ) as caught:
        backend.list("snapshots")
    assert TOKEN not in caught.value.diagnostics()


def test_failures_are_counted_per_address_in_a_sliding_minute() -> None:
    now = [1000.0]
    failures = Failures(limit=20, window=60.0, clock=lambda: now[0])
    assert [failures.add("10.0.0.1") for _ in range(21)][-2:] == [20, 21]
    assert failures.add("10.0.0.2") == 1  # another address has its own count
    now[0] += 59.0
    assert failures.add("10.0.0.1") == 22
    now[0] += 1.5  # the first 21 are now over a minute old
    assert failures.add("10.0.0.1") == 2
    for _ in range(200):
        failures.add("10.0.0.3")
    assert failures.add("10.0.0.3") == 80  # memory stays bounded under a flood


def test_a_busy_server_is_tried_again_then_reported() -> None:
    calls: list[str] = []
    answers = [503, 503, 201]

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["authorization"])
        return httpx.Response(answers.pop(0), text="Service Unavailable")

    backend = RestBackend("http://127.0.0.1:9", TOKEN, transport=httpx.MockTransport(handler))
    backend.put("objects", "a" * 64, b"x")
    assert calls == [f"Bearer {TOKEN}"] * 3
    answers.extend([503, 503, 503])
    with pytest.raises(VaultError, match="answered 503") as caught:
        backend.put("objects", "a" * 64, b"x")
    assert TOKEN not in caught.value.diagnostics()
