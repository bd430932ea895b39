"""The warm hook daemon the benchmark starts, watches and stops (issue #2 item 9).

An agent's hook calls mostly find Interlock's resident process already warm
(src/interlock/hooks/client.py): the first call of a session decides in-process and starts it,
every later call hands its payload over a Unix socket. That steady state is what the target
is judged on, so the benchmark:

1. gives the daemon a private ``INTERLOCK_RUNTIME_DIR`` (0700, inside the bench's temp
   folder), so it never meets a daemon a developer or another test already runs;
2. makes one call by hand (timed apart: the first call of a session, which decides in-process
   and starts the daemon) and polls until the socket exists, up to 5 s;
3. watches the socket's inode around every timed call: a call that found no socket, or during
   which the socket changed, did not take the fast path (the daemon exits and restarts when
   Interlock's code changes on disk, which happens while others edit the tree);
4. stops every daemon started under that folder, by pid read from /proc, and checks none is
   left: ``make bench`` must not leave a process behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODULE = "interlock.hooks.daemon"
IDLE_SECONDS = "120"
"""INTERLOCK_DAEMON_IDLE for the bench's daemon: if the bench is killed before it can stop the
daemon, the daemon still exits on its own two minutes after its last call."""


@dataclass(frozen=True)
class Started:
    """What starting the daemon took: the first call of a session and the wait for the socket."""

    socket: str
    first_call_ns: int
    first_call: subprocess.CompletedProcess[bytes]
    ready_after_ns: int
    """From the end of the first call until the socket existed; -1 if it never did."""


@dataclass(frozen=True)
class Stopped:
    pids: tuple[int, ...]
    """Daemons found under the runtime folder and sent SIGTERM (or SIGKILL if they lingered)."""
    left: tuple[int, ...]
    """Daemons still running afterwards: should always be empty."""

    def as_dict(self) -> dict[str, Any]:
        return {"stopped_pids": list(self.pids), "left_running": list(self.left)}


def runtime_dir(root: Path) -> Path:
    """A fresh 0700 folder for the socket; the client refuses any other kind."""
    folder = root / "run"
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask; this is exact
    return folder


def environment(env: dict[str, str], folder: Path, enabled: bool) -> dict[str, str]:
    """``env`` with the daemon on (in ``folder``) or off (INTERLOCK_DAEMON=0).

    Set explicitly either way: the test suite exports INTERLOCK_DAEMON=0 (tests/conftest.py),
    and the bench must not inherit a choice from whoever runs it.
    """
    out = dict(env)
    out["INTERLOCK_RUNTIME_DIR"] = str(folder)
    out["INTERLOCK_DAEMON"] = "1" if enabled else "0"
    out["INTERLOCK_DAEMON_IDLE"] = IDLE_SECONDS
    return out


def socket_path(python: str, cwd: Path, env: dict[str, str]) -> str:
    """The socket the hook will use, as the client computes it (per interpreter and install)."""
    code = "from interlock.hooks import client; print(client.socket_path())"
    done = subprocess.run(
        [python, "-c", code], capture_output=True, cwd=cwd, env=env, check=False, timeout=30
    )
    if done.returncode != 0:
        raise RuntimeError("cannot compute the daemon's socket: " + done.stderr.decode()[-400:])
    return done.stdout.decode().strip()


def start(
    python: str, agent: str, stdin: bytes, cwd: Path, env: dict[str, str], wait_s: float = 5.0
) -> Started:
    """One hook call with no daemon yet (it starts one), then wait up to ``wait_s`` for it.

    An untimed in-process call comes first, so that the timed one reads cached bytecode as
    an installed Interlock does (the bench's PYTHONPYCACHEPREFIX starts empty).
    """
    path = socket_path(python, cwd, env)
    if os.path.exists(path):
        raise RuntimeError(f"{path} exists before the bench started a daemon")
    argv = [python, "-m", "interlock.hooks", agent]
    off = {**env, "INTERLOCK_DAEMON": "0"}
    subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, env=off, check=False)
    begin = time.perf_counter_ns()
    first = subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, env=env, check=False)
    ended = time.perf_counter_ns()
    deadline = time.monotonic() + wait_s
    ready = -1
    while time.monotonic() < deadline:
        if os.path.exists(path):
            ready = time.perf_counter_ns() - ended
            break
        time.sleep(0.01)
    return Started(path, ended - begin, first, ready)


def inode(path: str) -> int | None:
    """The socket's identity now: a restarted daemon binds a new inode."""
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def daemons(folder: Path) -> list[int]:
    """Pids of ``interlock.hooks.daemon`` processes serving a socket inside ``folder``."""
    prefix = str(folder) + os.sep
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path("/proc", entry, "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        words = [a.decode("utf-8", "replace") for a in args]
        if MODULE in words and any(w.startswith(prefix) for w in words) and _alive(int(entry)):
            found.append(int(entry))
    return sorted(found)


def stop(folder: Path, settle_s: float = 0.3, wait_s: float = 5.0) -> Stopped:
    """SIGTERM every daemon under ``folder``, SIGKILL what outlives ``wait_s``, look again.

    Scans until one comes back empty after ``settle_s``: a daemon the last hook call started
    may still be between its fork and its exec when the first scan runs.
    """
    stopped: list[int] = []
    for _ in range(10):
        pids = daemons(folder)
        if not pids:
            time.sleep(settle_s)
            pids = daemons(folder)
            if not pids:
                break
        for pid in pids:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.02)
        for pid in pids:
            if _alive(pid):
                _signal(pid, signal.SIGKILL)
        stopped += pids
    for sock in folder.glob("*.sock"):
        sock.unlink(missing_ok=True)
    return Stopped(tuple(sorted(set(stopped))), tuple(daemons(folder)))


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting for a parent that may never reap it."""
    try:
        stat = Path("/proc", str(pid), "stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)
