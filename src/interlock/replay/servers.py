"""Run an ASGI app on 127.0.0.1, on a free port, in a thread of this process.

The fakes a replay needs (Railway, PagerDuty) are Starlette apps served by uvicorn, the same
server Interlock itself runs on, so requests cross a real socket. The port is taken by binding
port 0 before uvicorn starts: nothing else can grab it in between.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from interlock.replay import ReplayError
from interlock.replay.tls import Certificate

STARTUP = 10.0


@dataclass
class Running:
    server: uvicorn.Server
    thread: threading.Thread
    port: int
    scheme: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(app: Any, tls: Certificate | None = None) -> Running:
    """Start ``app`` and return once it accepts connections."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_level="error",
        access_log=False,
        lifespan="off",
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"replay-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ReplayError(f"a local fake service would not start on 127.0.0.1:{port}")
        time.sleep(0.01)
    return Running(server, thread, port, "https" if tls else "http")
