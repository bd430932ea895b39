"""A real `interlock serve` for the approval bench: started, signed into, measured, stopped.

The server runs as its own process, exactly as an operator starts it (`interlock serve --port
--data-dir --project [--database-url]`), so what is timed is uvicorn, Starlette, the service
and the database, not an in-process shortcut. Whatever happens, :meth:`Server.stop` ends the
process group it started, and a scratch PostgreSQL database is dropped again.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from approval_http import Call, fetch, post_json

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
READY_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (/proc), to show who used the cores."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def interlock_args(project: Path, data_dir: Path, database_url: str | None) -> list[str]:
    args = ["--project", str(project), "--data-dir", str(data_dir)]
    return args + (["--database-url", database_url] if database_url else [])


@contextmanager
def serving(
    interlock: Path, project: Path, data_dir: Path, database_url: str | None, log: Path
) -> Iterator[Server]:
    """`interlock serve` on a free port, ready (``/health`` answers) when this yields."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(interlock),
                "serve",
                "--port",
                str(port),
                *interlock_args(project, data_dir, database_url),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(process, port, log)
    try:
        _wait_ready(server)
        yield server
    finally:
        server.stop()


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"interlock serve exited: {server.log.read_text()[-2000:]}")
        try:
            if fetch(server.port, Call("GET", "/health")).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"interlock serve did not answer /health within {READY_SECONDS:g} s")


def add_approver(
    interlock: Path, project: Path, data_dir: Path, database_url: str | None, name: str
) -> str:
    """Adds ``name`` with a random password (the CLI, as an operator does); returns it."""
    password = secrets.token_urlsafe(18)
    subprocess.run(
        [
            str(interlock),
            "approver",
            "add",
            name,
            "--password-stdin",
            *interlock_args(project, data_dir, database_url),
        ],
        input=password + "\n",
        text=True,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return password


@dataclass(frozen=True)
class SignedIn:
    """An approver's session: the cookie and CSRF headers a vote needs."""

    name: str
    cookie: str
    csrf: str

    def headers(self, write: bool = False) -> tuple[tuple[str, str], ...]:
        found = (("Cookie", f"interlock_session={self.cookie}"),)
        return found + ((("X-CSRF-Token", self.csrf),) if write else ())


def sign_in(port: int, name: str, password: str) -> SignedIn:
    answer = fetch(port, post_json("/api/v1/session", {"username": name, "password": password}))
    if answer.status != 200:
        raise RuntimeError(f"sign-in as {name} failed: HTTP {answer.status}")
    cookie = answer.headers.get("set-cookie", "").split(";", 1)[0].partition("=")[2]
    return SignedIn(name, cookie, str(answer.json()["csrf"]))


@contextmanager
def scratch_postgres(base: str = POSTGRES) -> Iterator[str]:
    """A fresh database on the real PostgreSQL for one run, dropped afterwards."""
    import psycopg

    name = f"interlock_bench_{secrets.token_hex(4)}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_exists(url: str) -> bool:
    """Whether the database ``url`` names is still on its server (clean-up check)."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres") as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None
