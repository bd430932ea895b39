"""Shared fixtures for the approval server's tests: a real server, a real PostgreSQL, approvers.

Everything here runs the real thing (STYLE.md §9): uvicorn serving :func:`create_app` on
127.0.0.1, the real PostgreSQL on 127.0.0.1:5432, real ``interlock serve`` processes.

Fixtures (any test under tests/server/ gets them by naming them):

``pg_url``
    A scratch PostgreSQL database for the whole session (created at first use, dropped at the
    end). PostgreSQL not answering is a failure, never a skip.
``fresh_pg_url``
    A new, empty scratch database for one test (migration tests, replica tests).
``project``
    A project folder (``.git`` + :data:`PROJECT_TOML`: ``db.prod.internal`` is production and
    dropping a production table is ``ask`` rather than the default deny), so quorum rules have
    something to ask about.
``server``
    A :class:`Served` app on SQLite in ``tmp_path``; ``make_server(...)`` builds others
    (PostgreSQL, another project, a shorter long poll).

Helpers on :class:`Served`: ``agent()`` (an httpx client with no credential, what a hook
holds), ``add_approver(name)``, ``sign_in(name)`` (an httpx client carrying the session cookie
and the ``X-CSRF-Token`` header), ``submit(action)``, ``vote(client, id, 'approve')``, and
``service`` / ``accounts`` (the app's own objects, for a clock or a look at the rows).

Plain helpers: :func:`action_json` builds the wire form of an action (what a hook sends),
:func:`together` runs calls in threads released at once (races), :class:`ServeProcess` starts
``.venv/bin/interlock serve`` as a subprocess.
Import them with ``from tests.server.conftest import action_json, PASSWORD``.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from starlette.applications import Starlette

from interlock.config import load_policy
from interlock.server import db
from interlock.server.accounts import Accounts
from interlock.server.app import State, create_app
from interlock.server.approvals import ApprovalService
from interlock.server.settings import ServerSettings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "correct horse battery staple"
INTERLOCK = str(Path(sys.executable).with_name("interlock"))

PROD_DROP = "psql -h db.prod.internal -c 'DROP TABLE users'"
"""Irreversible, in production: two approvers by default (``production_quorum``)."""
FORCE_PUSH = "git push --force origin main"
"""``ask`` under the embedded defaults, not production: one approver (``quorum``)."""

PROJECT_TOML = """\
[environments.hosts]
production = ["db.prod.internal"]
staging = ["db.staging.internal"]

[[rules]]
id = "ask-for-production-drops"
operation = "db.drop_*"
environment = "production"
decision = "ask"
reason = "a person decides on dropping production tables"
"""

_SCRUBBED = (
    "INTERLOCK_HOME",
    "INTERLOCK_CONFIG",
    "INTERLOCK_SERVER",
    "INTERLOCK_DATABASE_URL",
    "INTERLOCK_AUDIT_LOG",
)


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own INTERLOCK_* settings must not reach a test's server."""
    for name in _SCRUBBED:
        monkeypatch.delenv(name, raising=False)


# --- PostgreSQL -----------------------------------------------------------------------------


class Scratch:
    """Creates throw-away databases on the local PostgreSQL and drops them all at the end."""

    def __init__(self) -> None:
        try:
            self.admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            pytest.fail(
                f"PostgreSQL does not answer at 127.0.0.1:5432 as user postgres ({exc}); "
                "the server's tests need it (trust auth, see docs/server.md)",
                pytrace=False,
            )
        self.names: list[str] = []

    def create(self) -> str:
        name = f"interlock_test_{os.getpid()}_{secrets.token_hex(4)}"
        self.admin.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return f"postgresql://postgres@127.0.0.1:5432/{name}"

    def drop_all(self) -> None:
        for name in self.names:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


@pytest.fixture(scope="session")
def pg_scratch() -> Iterator[Scratch]:
    scratch = Scratch()
    try:
        yield scratch
    finally:
        scratch.drop_all()


@pytest.fixture(scope="session")
def pg_url(pg_scratch: Scratch) -> str:
    """One scratch database shared by the session's tests (filter rows by request id)."""
    return pg_scratch.create()


@pytest.fixture
def fresh_pg_url(pg_scratch: Scratch) -> str:
    """An empty database of this test's own."""
    return pg_scratch.create()


# --- a project and actions ------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    (root / "interlock.toml").write_text(PROJECT_TOML)
    return root


def action_json(
    command: str = PROD_DROP,
    *,
    cwd: Path | str | None = None,
    env: str | None = None,
    agent: str = "claude-code",
    session: str = "s-1",
) -> dict[str, Any]:
    """The wire form of a shell action, as a hook sends it (``interlock.actions.action_to_json``)."""
    return {
        "kind": "shell",
        "payload": {"command": command},
        "env": env,
        "cwd": str(cwd) if cwd is not None else None,
        "actor": {"agent": agent, "session": session},
    }


# --- a real server in this process ----------------------------------------------------------


@dataclass
class Served:
    """A running server and the clients a test needs to talk to it."""

    url: str
    app: Starlette
    settings: ServerSettings
    project: Path
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def state(self) -> State:
        found: State = self.app.state.interlock
        return found

    @property
    def service(self) -> ApprovalService:
        return self.state.service

    @property
    def accounts(self) -> Accounts:
        return self.state.accounts

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def agent(self, **headers: str) -> httpx.Client:
        """What a hook holds: the server's address and nothing else."""
        client = httpx.Client(base_url=self.url, timeout=30, headers=headers)
        self._clients.append(client)
        return client

    def add_approver(self, name: str, password: str = PASSWORD) -> None:
        self.accounts.add(name, password)

    def sign_in(self, name: str, password: str = PASSWORD, *, add: bool = True) -> httpx.Client:
        """An approver's browser: session cookie in the jar, CSRF token in every request."""
        if add and name not in self.accounts.names():
            self.add_approver(name, password)
        client = self.agent()
        answer = client.post("/api/v1/session", json={"username": name, "password": password})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf"]
        return client

    def submit(
        self, action: dict[str, Any], *, reason: str = "", requester: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"action": action, "reason": reason}
        if requester is not None:
            body["requester"] = requester
        return self.agent().post("/api/v1/requests", json=body)

    def file(self, action: dict[str, Any], **kw: Any) -> str:
        """Submit and return the id of the pending request it filed."""
        answer = self.submit(action, **kw)
        assert answer.status_code == 201, answer.text
        assert answer.json()["state"] == "pending", answer.text
        request_id: str = answer.json()["id"]
        return request_id

    def vote(
        self, client: httpx.Client, request_id: str, vote: str = "approve", note: str = ""
    ) -> httpx.Response:
        """Vote as the card showed it: the binding is read from the card first."""
        card = client.get(f"/api/v1/requests/{request_id}")
        assert card.status_code == 200, card.text
        body = {"vote": vote, "binding": card.json()["binding"], "note": note}
        return client.post(f"/api/v1/requests/{request_id}/votes", json=body)

    def close(self) -> None:
        for client in self._clients:
            client.close()


class _Thread:
    """uvicorn on an already-bound socket in a background thread (no free-port race)."""

    def __init__(self, app: Starlette) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


MakeServer = Callable[..., Served]


@pytest.fixture
def make_server(tmp_path: Path, project: Path) -> Iterator[MakeServer]:
    """``make_server(database_url=, project_dir=, data_dir=, **ServerSettings fields)``."""
    running: list[tuple[_Thread, Served]] = []

    def make(
        *,
        database_url: str | None = None,
        project_dir: Path | None = None,
        data_dir: Path | None = None,
        **options: Any,
    ) -> Served:
        root = project_dir or project
        folder = data_dir or tmp_path / f"data-{len(running)}"
        options.setdefault("policy", load_policy(root))
        settings = ServerSettings(
            data_dir=folder, database_url=database_url or db.sqlite_url(folder), **options
        )
        app = create_app(settings)
        thread = _Thread(app)
        served = Served(
            url=f"http://127.0.0.1:{thread.port}",
            app=app,
            settings=replace(settings, port=thread.port),
            project=root,
        )
        served.state.settings = served.settings  # links in answers name the real port
        thread.start()
        running.append((thread, served))
        return served

    yield make
    for thread, served in reversed(running):
        served.close()
        thread.stop()


@pytest.fixture
def server(make_server: MakeServer) -> Served:
    """The server on SQLite in tmp_path, configured by :func:`project`."""
    return make_server()


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released at once by a barrier; their results in order.

    An exception in any call is raised here (the first one), after every thread has finished.
    """
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# --- `interlock serve` as a process ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """``.venv/bin/interlock serve`` in a subprocess, waited for until /health answers."""

    def __init__(
        self, project: Path, data_dir: Path, database_url: str | None = None, port: int = 0
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        command = [INTERLOCK, "serve", "--port", str(self.port), "--data-dir", str(data_dir)]
        if database_url:
            command += ["--database-url", database_url]
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
        self.log = data_dir.parent / f"serve-{self.port}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                command, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.client = httpx.Client(base_url=self.url, timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.client.get("/health").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"interlock serve did not answer:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
