"""One agent session with a real approval server: ``python approval_session.py SPEC.json``.

Run like session.py, inside the test's private network namespace (``unshare -n``), and for
the same reason: only what lives in that namespace can be reached from it. So this process
starts everything the approval flow needs there, on 127.0.0.1, before the session runs:

1. ``interlock approver add`` and ``interlock serve`` (the real CLI, its own process, SQLite
   in ``spec["approval"]["data_dir"]``), and ``[approvals] server`` in the project's
   interlock.toml, so the hook files its asks there;
2. an approver at the dashboard's API: signed in with a password, watching the event stream
   (``GET /api/v1/events``) and approving, from the card's binding, the first ``approve``
   requests it sees; later ones stay pending;
3. the scripted model, gated: the turn after ``gate_after_calls`` tool calls is answered only
   once the approver has approved (a model that retries when told its request was approved,
   made deterministic);

then runs the session (session.main) and writes what the approver did to
``spec["approval"]["out"]``. The server is stopped whatever happens.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import session
from fake_models import Call, Script

APPROVER = "alice"
GATE_TIMEOUT_S = 60.0
"""A gate not opened by then lets the model go on; the test's assertions then fail."""


class GatedScript(Script):
    """The scripted model, waiting before some turns until a gate opens."""

    def __init__(self, base: Script, gates: dict[int, threading.Event]) -> None:
        super().__init__(base.steps, base.final, base.side_text)
        self.gates = gates

    def next_turn(self, calls_so_far: int) -> list[Call] | None:
        gate = self.gates.get(calls_so_far)
        if gate is not None:
            gate.wait(GATE_TIMEOUT_S)
        return super().next_turn(calls_so_far)


class Approver(threading.Thread):
    """A person at the dashboard: approves the first ``count`` requests the stream shows."""

    def __init__(self, base_url: str, password: str, count: int) -> None:
        super().__init__(daemon=True)
        self.base_url = base_url
        self.password = password
        self.count = count
        self.listening = threading.Event()
        self.done = threading.Event()
        self.approved: list[dict[str, Any]] = []
        self.error = ""

    def run(self) -> None:
        try:
            self._watch()
        except Exception as exc:  # reported to the test through the out file
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.listening.set()
            self.done.set()

    def _watch(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as http:
            signed = http.post(
                "/api/v1/session", json={"username": APPROVER, "password": self.password}
            )
            signed.raise_for_status()
            csrf = signed.json()["csrf"]
            forever = httpx.Timeout(10, read=None)
            with http.stream("GET", "/api/v1/events", timeout=forever) as events:
                kind = ""
                for line in events.iter_lines():
                    self.listening.set()
                    if line.startswith("event: "):
                        kind = line.removeprefix("event: ")
                    elif line.startswith("data: ") and kind == "created":
                        if len(self.approved) >= self.count:
                            return
                        request_id = json.loads(line.removeprefix("data: "))["request_id"]
                        self.approved.append(self._approve(http, csrf, request_id))
                        if len(self.approved) >= self.count:
                            return

    def _approve(self, http: httpx.Client, csrf: str, request_id: str) -> dict[str, Any]:
        """What the dashboard's Approve button does: the vote names the card's binding."""
        card = http.get(f"/api/v1/requests/{request_id}").json()
        vote = http.post(
            f"/api/v1/requests/{request_id}/votes",
            json={"vote": "approve", "binding": card["binding"], "note": "e2e approver"},
            headers={"X-CSRF-Token": csrf},
        )
        return {
            "id": request_id,
            "card_text": card["card"].get("text"),
            "status": vote.status_code,
            "state": vote.json().get("state"),
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(
    interlock: str, project: Path, data_dir: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [
                interlock,
                "serve",
                "--port",
                str(port),
                "--project",
                str(project),
                "--data-dir",
                str(data_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    stop(process)
    raise SystemExit(f"interlock serve did not start: {(data_dir / 'serve.log').read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main(spec_path: str) -> int:
    spec: dict[str, Any] = json.loads(Path(spec_path).read_text("utf-8"))
    setup = spec["approval"]
    if spec.get("netns"):
        session.loopback_up()
    project, data_dir = Path(spec["cwd"]), Path(setup["data_dir"])
    password = secrets.token_urlsafe(18)
    subprocess.run(
        [
            setup["interlock"],
            "approver",
            "add",
            APPROVER,
            "--password-stdin",
            "--project",
            str(project),
            "--data-dir",
            str(data_dir),
        ],
        input=password + "\n",
        text=True,
        capture_output=True,
        check=True,
        timeout=60,
    )
    server, url = start_server(setup["interlock"], project, data_dir)
    try:
        config = project / "interlock.toml"
        existing = config.read_text("utf-8") if config.exists() else ""
        config.write_text(f'{existing}\n[approvals]\nserver = "{url}"\n', "utf-8")
        approver = Approver(url, password, int(setup["approve"]))
        approver.start()
        approver.listening.wait(10)
        gates = {int(setup["gate_after_calls"]): approver.done}
        session.main(spec_path, GatedScript(Script.from_json(spec["script"]), gates))
    finally:
        stop(server)
    Path(setup["out"]).write_text(
        json.dumps({"url": url, "approved": approver.approved, "error": approver.error}), "utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
