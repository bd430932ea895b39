"""The hook's fast path: hand the call to a warm Interlock process over a Unix socket.

Why: a fresh Python that imports the decision point pays for dataclasses, regular expressions,
tomllib and the catalogs on every tool call, about 100 ms on a 2-core machine, against 20 ms
allowed over a bare interpreter (issue #2 item 9). A resident process (:mod:`.daemon`) pays once
and forks a child per call; this client imports only ``os``, ``sys`` and ``socket``.

Safety does not depend on the daemon. Any failure here (no socket, a socket owned by someone
else, a timeout, a malformed or stale answer) returns None and the caller decides in-process,
which fails closed as before. The wait is bounded (:data:`TIMEOUT`) so that the in-process
fallback still answers inside the agent's hook timeout. ``INTERLOCK_DAEMON=0`` turns the fast
path off.

Wire format (version ``ILK1``), one request per connection:

- request: ``b"ILK1 <len agent> <len cwd> <len env>\\n"`` + agent + cwd + env + payload, where
  env is ``NAME=value`` pairs joined by NUL; the client then shuts down its write side;
- answer: ``b"ILK1 <exit> <len stdout> <len stderr>\\n"`` + stdout + stderr, or
  ``b"ILK1 stale\\n"`` when the daemon's code changed on disk since it started, or
  ``b"ILK1 local\\n"`` when the call may wait for a person and must be decided in the hook's
  own process (the daemon stays up, so no new one is started).
"""

from __future__ import annotations

# The C module, not `socket`: the wrapper module imports selectors and enum (about 5 ms of a
# 20 ms budget) for features a single blocking request does not use.
import _socket
import os
import sys

MAGIC = b"ILK1"
LOCAL = MAGIC + b" local\n"
TIMEOUT = 5.0
"""Seconds to wait for the daemon before deciding in-process (the fallback has its own 20 s)."""
MAX_ANSWER = 4_000_000


def enabled() -> bool:
    return os.environ.get("INTERLOCK_DAEMON", "1").strip().lower() not in (
        "0",
        "off",
        "no",
        "false",
    )


def runtime_dir() -> str:
    """A folder only this user can use: $INTERLOCK_RUNTIME_DIR, $XDG_RUNTIME_DIR or /tmp."""
    explicit = os.environ.get("INTERLOCK_RUNTIME_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return os.path.join(base, f"interlock-{os.getuid()}")


def socket_path() -> str:
    """One daemon per interpreter and per Interlock install, so two venvs never share one."""
    import zlib

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    key = zlib.crc32(f"{sys.executable}\0{here}".encode("utf-8", "surrogateescape"))
    return os.path.join(runtime_dir(), f"hookd-{key:08x}.sock")


def private_dir(path: str, create: bool) -> bool:
    """True when ``path`` is a folder owned by this user that nobody else can enter."""
    try:
        if create:
            os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return False
    is_dir = (info.st_mode & 0o170000) == 0o040000
    return is_dir and info.st_uid == os.getuid() and info.st_mode & 0o077 == 0


def ask(agent: str, payload: bytes) -> tuple[int, bytes, bytes] | str | None:
    """The daemon's answer for one hook call; ``"local"`` when the daemon handed the call
    back (decide in-process, the daemon is up); None to decide in-process (and start one)."""
    path = socket_path()
    if not private_dir(os.path.dirname(path), create=False):
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if info.st_uid != os.getuid():
        return None
    environment = b"\0".join(k + b"=" + v for k, v in os.environb.items() if b"\0" not in k + v)
    cwd = os.getcwdb()
    head = b"%s %d %d %d\n" % (MAGIC, len(agent), len(cwd), len(environment))
    try:
        conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            conn.settimeout(TIMEOUT)
            conn.connect(path)
            conn.sendall(head + agent.encode() + cwd + environment + payload)
            conn.shutdown(_socket.SHUT_WR)
            answer = read_all(conn)
        finally:
            conn.close()
    except OSError:
        return None
    if answer == LOCAL:
        return "local"
    return parse_answer(answer)


def read_all(conn: _socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_ANSWER:
            raise OSError("answer too large")


def parse_answer(answer: bytes) -> tuple[int, bytes, bytes] | None:
    head, newline, body = answer.partition(b"\n")
    fields = head.split()
    if not newline or len(fields) != 4 or fields[0] != MAGIC:
        return None
    try:
        code, out_len, err_len = (int(f) for f in fields[1:])
    except ValueError:
        return None
    if code not in (0, 2) or out_len < 0 or err_len < 0 or out_len + err_len != len(body):
        return None
    return code, body[:out_len], body[out_len:]


def spawn() -> None:
    """Start the daemon in the background, detached from the agent's pipes; never raises."""
    path = socket_path()
    if not private_dir(os.path.dirname(path), create=True):
        return
    try:
        pid = os.fork()
    except OSError:
        return
    if pid:
        try:  # noqa: SIM105 - contextlib would cost an import on the hot path
            os.waitpid(pid, 0)
        except OSError:
            pass
        return
    try:  # the first child: a new session, then a grandchild the agent never waits for
        os.setsid()
        if os.fork():
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 1024)
        os.execv(sys.executable, [sys.executable, "-m", "interlock.hooks.daemon", path])
    finally:
        os._exit(0)
