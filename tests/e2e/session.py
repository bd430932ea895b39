"""One agent session against the scripted model: ``python session.py SPEC.json``.

Run by the tests inside a private network namespace (``unshare -n``), so the fake model must
live in the same namespace: this process brings loopback up, starts the fake on 127.0.0.1,
writes the files that need its port, runs the client with a hard timeout (killing its whole
process group) and writes what happened to ``spec["out"]``:
``{"rc", "stdout", "stderr", "timed_out", "seconds", "requests", "netns"}``.

Every ``@PORT@`` in the argv, the environment and the files is replaced with the fake's port.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_models import FakeModel, Script

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def loopback_up() -> None:
    """``ip link set lo up`` without needing iproute2: a new network namespace starts with lo down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | _IFF_UP))


def only_loopback() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def main(spec_path: str, script: Script | None = None) -> int:
    """Run the session ``spec_path`` describes; ``script`` replaces its scripted model."""
    spec: dict[str, Any] = json.loads(Path(spec_path).read_text("utf-8"))
    netns = bool(spec.get("netns"))
    if netns:
        loopback_up()
        if not only_loopback():
            raise SystemExit(
                "session.py: asked for a private network namespace but sees other links"
            )
    server = FakeModel(script or Script.from_json(spec["script"]))
    server.start()
    port = str(server.port)

    def fill(text: str) -> str:
        return text.replace("@PORT@", port)

    for path, text in spec.get("files", {}).items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(fill(text), "utf-8")
    argv = [fill(a) for a in spec["argv"]]
    env = {k: fill(v) for k, v in spec["env"].items()}
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=spec["cwd"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=float(spec["timeout"]))
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
    seconds = time.monotonic() - started
    server.shutdown()
    with server.lock:
        requests = list(server.requests)
    result = {
        "rc": proc.returncode,
        "stdout": stdout.decode("utf-8", "replace"),
        "stderr": stderr.decode("utf-8", "replace"),
        "timed_out": timed_out,
        "seconds": seconds,
        "requests": requests,
        "netns": netns,
    }
    Path(spec["out"]).write_text(json.dumps(result), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
