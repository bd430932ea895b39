"""The warm hook process: same answers as in-process, private socket, falls back on failure."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from interlock.hooks import client

from .test_hooks_support import Sandbox, box  # noqa: F401 - fixture

PAYLOAD = {
    "session_id": "s-1",
    "transcript_path": "/tmp/t.jsonl",
    "cwd": "",
    "permission_mode": "default",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "", "description": "x"},
    "tool_use_id": "toolu_1",
}


def _payload(box: Sandbox, command: str) -> bytes:  # noqa: F811
    return json.dumps(
        {**PAYLOAD, "cwd": str(box.project), "tool_input": {"command": command}}
    ).encode()


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("INTERLOCK_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("INTERLOCK_DAEMON", "1")
    monkeypatch.setenv("INTERLOCK_DAEMON_IDLE", "30")  # a daemon this test misses still ends
    yield folder
    # A daemon may still be starting (the first call spawns it in the background): wait for it
    # to come up or give up, then stop every daemon serving a socket in this folder.
    time.sleep(0.5)
    subprocess.run(["pkill", "-f", f"interlock.hooks.daemon {folder}/"], check=False)
    for _ in range(50):
        alive = subprocess.run(
            ["pgrep", "-f", f"interlock.hooks.daemon {folder}/"], check=False, capture_output=True
        )
        if alive.returncode != 0:
            break
        time.sleep(0.1)
    else:  # pragma: no cover
        raise AssertionError("a daemon started by this test is still running")


def _hook(box: Sandbox, command: str, **extra: str) -> subprocess.CompletedProcess[bytes]:  # noqa: F811
    env = {**box.env(**extra), "INTERLOCK_DAEMON": os.environ["INTERLOCK_DAEMON"]}
    env["INTERLOCK_RUNTIME_DIR"] = os.environ["INTERLOCK_RUNTIME_DIR"]
    env["INTERLOCK_DAEMON_IDLE"] = os.environ["INTERLOCK_DAEMON_IDLE"]
    return subprocess.run(
        [sys.executable, "-m", "interlock.hooks", "claude-code"],
        input=_payload(box, command),
        capture_output=True,
        cwd=box.project,
        env=env,
        timeout=60,
    )


def _wait_for_socket(folder: Path) -> Path:
    for _ in range(200):
        found = list(folder.glob("*.sock"))
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("the daemon never came up")


def test_first_call_starts_the_daemon_and_later_calls_match_in_process(
    box: Sandbox,  # noqa: F811
    runtime: Path,
) -> None:
    first = _hook(box, "rm -rf ~")
    assert first.returncode == 2 and b"home directory" in first.stderr
    sock = _wait_for_socket(runtime)
    assert sock.stat().st_mode & 0o777 == 0o600
    for command in ("rm -rf ~", "ls -la", "rm -rf src", "git push --force origin main"):
        warm = _hook(box, command)
        cold = _hook(box, command, INTERLOCK_DAEMON="0")
        assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout), command
        assert warm.stderr.replace(b"\r", b"") == cold.stderr.replace(b"\r", b""), command
    # Every call, warm or cold, was audited.
    assert len(box.records()) == 9


def test_the_callers_environment_reaches_the_decision(box: Sandbox, runtime: Path) -> None:  # noqa: F811
    _hook(box, "ls")
    _wait_for_socket(runtime)
    staging = _hook(box, "psql -c 'DROP TABLE users'", INTERLOCK_ENV="staging")
    production = _hook(box, "psql -c 'DROP TABLE users'", INTERLOCK_ENV="production")
    assert staging.returncode == 0 and b'"ask"' in staging.stdout
    assert production.returncode == 2 and b"production" in production.stderr


def test_garbage_from_the_socket_falls_back_to_deciding_in_process(
    box: Sandbox,  # noqa: F811
    runtime: Path,
) -> None:
    """A socket that answers nonsense (a crashed or fake daemon) must not make the hook allow."""
    path = client.socket_path()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)

    def answer() -> None:
        for _ in range(2):
            try:
                conn, _ = server.accept()
                conn.recv(1 << 20)
                conn.sendall(b"ILK1 0 0 0\n trailing junk")
                conn.close()
            except OSError:  # the hook may hang up first, or the test closes the server
                return

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        done = _hook(box, "rm -rf ~")
    finally:
        server.close()
    assert done.returncode == 2 and b"home directory" in done.stderr


def test_answers_are_validated() -> None:
    assert client.parse_answer(b"ILK1 2 0 3\nabc") == (2, b"", b"abc")
    assert client.parse_answer(b"ILK1 1 0 0\n") is None  # only 0 and 2 are answers
    assert client.parse_answer(b"ILK1 0 5 0\nabc") is None  # lengths must add up
    assert client.parse_answer(b"ILK1 stale\n") is None
    assert client.parse_answer(b"") is None


def test_a_socket_folder_others_can_enter_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    assert not client.private_dir(str(shared), create=False)
    private = tmp_path / "private"
    assert client.private_dir(str(private), create=True)


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERLOCK_DAEMON", "0")
    assert not client.enabled()
    monkeypatch.setenv("INTERLOCK_DAEMON", "1")
    assert client.enabled()


def test_the_fingerprint_watches_catalog_subfolders(tmp_path: Path) -> None:
    """A provider catalog edited under catalogs/providers/ makes a running daemon stale."""
    from interlock.analyzers.catalog_format import CATALOG_DIR
    from interlock.hooks import daemon

    watched = {path for path, _, _ in daemon.fingerprint()}
    providers = {str(p) for p in (CATALOG_DIR / "providers").glob("*.toml")}
    assert providers and providers <= watched
    (tmp_path / "providers" / "__pycache__").mkdir(parents=True)
    for name in ("a.toml", "providers/b.toml", "providers/__pycache__/c.pyc"):
        (tmp_path / name).write_text("")
    found = sorted(daemon.catalog_files(str(tmp_path)))
    assert found == [str(tmp_path / "a.toml"), str(tmp_path / "providers" / "b.toml")]
