"""`interlock serve` (what `make run` starts) and the admin commands, as a user runs them.

Issue 5 item 9: the server starts on embedded defaults, creates its data folder, prints the
dashboard URL and how to add the first approver; starting it twice loses nothing.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

INTERLOCK = str(Path(sys.executable).with_name("interlock"))
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(*args: str, project: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    return subprocess.run(
        [INTERLOCK, *args],
        cwd=project,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


class Served:
    def __init__(self, project: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [INTERLOCK, "serve", "--port", str(port)],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"interlock serve did not answer:\n{self.output}")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            found: dict[str, Any] = json.loads(answer.read())
            return found

    def stop(self) -> None:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=20)
        self.output = out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    return tmp_path


def _action(project: Path) -> dict[str, Any]:
    return {
        "kind": "shell",
        "payload": {"command": "rm -rf src"},
        "cwd": str(project),
        "actor": {"agent": "claude-code", "session": "s-1"},
    }


def test_serve_starts_on_defaults_and_says_what_to_do_next(project: Path) -> None:
    served = Served(project, free_port())
    served.stop()
    assert f"{served.url}/" in served.output
    assert "interlock approver add" in served.output
    assert (project / ".interlock" / "interlock.db").is_file()
    assert oct((project / ".interlock").stat().st_mode & 0o777) == "0o700"


def test_a_restart_keeps_approvers_and_requests(project: Path) -> None:
    added = cli(
        "approver", "add", "alice", "--password-stdin", project=project, stdin=PASSWORD + "\n"
    )
    assert added.returncode == 0, added.stderr
    port = free_port()
    served = Served(project, port)
    filed = served.post("/api/v1/requests", {"action": _action(project), "requester": "carol"})
    served.stop()
    assert filed["state"] == "pending"
    assert "no approver yet" not in served.output

    again = Served(project, port)
    try:
        refiled = again.post("/api/v1/requests", {"action": _action(project)})
    finally:
        again.stop()
    assert refiled["id"] == filed["id"], "the pending request did not survive the restart"
    assert "approvers: alice" in again.output
    assert cli("approver", "list", project=project).stdout.split() == ["alice"]


def test_kill_and_resume_from_the_command_line(project: Path) -> None:
    cli("approver", "add", "alice", "--password-stdin", project=project, stdin=PASSWORD + "\n")
    killed = cli("kill", "--reason", "runaway agent", project=project)
    assert killed.returncode == 0, killed.stderr
    assert (project / ".interlock" / "KILLED").is_file()

    refused = cli(
        "resume",
        "--approver",
        "alice",
        "--password-stdin",
        project=project,
        stdin="wrong password here\n",
    )
    assert refused.returncode == 1
    assert "stays on" in refused.stderr
    assert (project / ".interlock" / "KILLED").is_file()

    resumed = cli(
        "resume", "--approver", "alice", "--password-stdin", project=project, stdin=PASSWORD + "\n"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert not (project / ".interlock" / "KILLED").exists()


def test_a_short_password_is_refused_and_nothing_is_added(project: Path) -> None:
    added = cli("approver", "add", "bob", "--password-stdin", project=project, stdin="short\n")
    assert added.returncode == 1
    assert "at least 12" in added.stderr
    assert cli("approver", "list", project=project).stdout.strip() == ""
