"""Interlock set up the way its user would: commands, a server process, configuration files.

Every layer is reached through its public face: ``interlock scan``, ``interlock honeytoken
plant``, ``interlock credential add`` / ``interlock env``, ``interlock serve`` (approval server,
notifications, gateway) run as processes with their own configuration, and the hook as Claude
Code runs it (:mod:`.agent`). A layer whose command or module is missing is reported as missing
(:meth:`Interlock.has`), so the timeline can say so instead of skipping it.

All of them share one state folder (``INTERLOCK_HOME``, the server's data folder) and one broker
key (``INTERLOCK_BROKER_KEY``), as they would on one machine.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from interlock.replay import ReplayError
from interlock.replay.agent import Output

STARTUP = 20.0
CLI = "from interlock.cli import run; run()"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Interlock:
    """One Interlock installation in a scratch folder: its server, its state, its commands."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.config_dir = root / "interlock-server"
        self.home = self.config_dir / "state"
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.env = {
            **env,
            "INTERLOCK_HOME": str(self.home),
            "INTERLOCK_BROKER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "INTERLOCK_DAEMON": "0",
        }
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log = root / "interlock-serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- what is installed ------------------------------------------------------------------

    @staticmethod
    def has_module(name: str) -> bool:
        try:
            return importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            return False

    @staticmethod
    def has(command: str) -> bool:
        """Whether ``interlock <command>`` exists in this installation."""
        from interlock.cli import COMMANDS

        return command in COMMANDS

    # --- commands ---------------------------------------------------------------------------

    def cli(self, *args: str, cwd: Path | None = None, stdin: str | None = None) -> Output:
        """``interlock ARGS`` as a separate process, from the server's configuration folder."""
        try:
            done = subprocess.run(
                [sys.executable, "-c", CLI, *args],
                cwd=cwd or self.config_dir,
                env=self.env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Output(124, "", f"interlock {args[0]} did not finish within 60 s")
        return Output(done.returncode, done.stdout, done.stderr)

    # --- configuration ----------------------------------------------------------------------

    def write_server_config(self, pagerduty_url: str, upstreams: dict[str, str]) -> None:
        """``[server]`` with a PagerDuty channel, and ``[gateway.upstreams.*]`` when the
        gateway is installed (an older Interlock would reject the table). Each upstream uses
        the one broker credential stored for it."""
        routing_key = secrets.token_hex(16)
        lines = [
            "[server]",
            f"port = {self.port}",
            f'public_url = "{self.url}"',
            "",
            "[[server.notify]]",
            'type = "pagerduty"',
            'name = "on-call"',
            f'url = "{pagerduty_url}"',
            f'routing_key = "{routing_key}"',
        ]
        if self.has_module("interlock.gateway"):
            for name, url in upstreams.items():
                lines += [
                    "",
                    f"[gateway.upstreams.{name}]",
                    f'url = "{url}"',
                    f'provider = "{name}"',
                ]
        self.config_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "interlock.toml").write_text("\n".join(lines) + "\n", "utf-8")

    def write_project_config(self, project: Path) -> None:
        """The agent's project: asks go to the approval server (the hook files them there)."""
        (project / "interlock.toml").write_text(f'[approvals]\nserver = "{self.url}"\n', "utf-8")

    # --- the server -------------------------------------------------------------------------

    def start(self) -> None:
        """``interlock serve`` in its own process group; returns once /health answers."""
        log = self._log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", CLI, "serve", "--port", str(self.port)],
            cwd=self.config_dir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ReplayError(f"interlock serve exited: {self.server_log()[-600:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise ReplayError(f"interlock serve did not answer within {STARTUP:g} s")

    def server_log(self) -> str:
        try:
            return self._log.read_text("utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def exports(text: str) -> dict[str, str]:
    """``export NAME=VALUE`` lines (shell-quoted) as a mapping; other lines are ignored."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        words = shlex.split(line, comments=True) if line.strip().startswith("export ") else []
        for word in words[1:]:
            name, sep, value = word.partition("=")
            if sep and name.isidentifier():
                found[name] = value
    return found
