"""A real snapshotter for tests: ``vault.snapshotter.build_app`` under uvicorn on 127.0.0.1, with a
real vault folder and real sources (used by the vault's, the gateway's and the server's tests)."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from interlock.vault.report import Reporter
from interlock.vault.settings import VaultSettings, parse
from interlock.vault.snapshotter import Backup, build_app, hash_token, run_backup
from tests.gateway import fakes

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/"


def new_token() -> str:
    return "snap_" + secrets.token_urlsafe(32)


def settings_for(
    vault: Path, sources: dict[str, dict[str, object]], url: str = ""
) -> VaultSettings:
    """``[vault]`` as a user writes it: the vault folder, the snapshotter's URL, the sources."""
    raw: dict[str, object] = {"location": str(vault), "sources": sources}
    if url:
        raw["snapshotter"] = url
    return parse(raw, "test")


def serve(
    settings: VaultSettings,
    token: str,
    *,
    backup: Backup = run_backup,
    lines: list[str] | None = None,
    port: int = 0,
    report: Reporter | None = None,
) -> Running:
    """The snapshotter on ``port`` (0: any free one)."""
    assert settings.location is not None
    app = build_app(
        settings,
        settings.location,
        hash_token(token),
        backup=backup,
        log=lines.append if lines is not None else None,
        report=report,
    )
    return Running(app, port)


def free_port() -> int:
    """A port nothing listens on (yet): a snapshotter that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Running(fakes.Running):
    """:class:`tests.gateway.fakes.Running` on a chosen port."""

    def __init__(self, app: Starlette, port: int = 0) -> None:
        if not port:
            super().__init__(app)
            return
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline, "the snapshotter did not start"
            time.sleep(0.01)
