"""The warm hook process: imports the decision point once, then answers calls one by one.

``python -m interlock.hooks.daemon SOCKET`` (started by :func:`.client.spawn`; nobody needs to
run it by hand). Each call takes on the caller's environment and working directory, runs
exactly the in-process runner (:func:`.runner.run`), so the answer is byte for byte what the
hook would have printed itself, and then restores the daemon's own. Calls are served one at a
time: a call takes about 2 ms, while forking a child per call cost 10 ms (copy-on-write of a
warm interpreter), half the latency budget.

The daemon exits when idle for ``INTERLOCK_DAEMON_IDLE`` seconds (default 900), and as soon as
any of its loaded source files or catalogs (subfolders included) changes on disk (it answers
that call "stale", so the client decides in-process with the new code). A module first
imported by a call is watched from then on; it does not make the daemon stale. The socket is
created 0600 in a 0700 folder.

A call that may wait for a person (an ``ask`` with ``[approvals] wait`` and a server) is handed
back unanswered (``ILK1 local``): the hook's own process files it and waits, so the daemon never
holds up other calls for minutes. Nothing is cached between calls: the policy, the kill switch
and the server are looked at anew each time.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import sys

from interlock.hooks import client

DEFAULT_IDLE = 900.0
WARM_MODULES = (
    "interlock.audit", "interlock.analyzers.clients", "interlock.analyzers.commands",
    "interlock.analyzers.effects", "interlock.analyzers.find", "interlock.analyzers.http",
    "interlock.analyzers.interpreters", "interlock.analyzers.sql", "interlock.analyzers.terraform",
    "interlock.analyzers.tools", "interlock.hooks.approvals", "interlock.hooks.claude_code",
    "interlock.hooks.codex", "interlock.hooks.cursor", "interlock.hooks.gemini",
    "interlock.hooks.runner",
)  # fmt: skip
"""Imported before the first call, so it is as fast as the rest (the approval client is
otherwise loaded only when a server is asked)."""
READ_TIMEOUT = 2.0


def warm() -> None:
    """Import and prime everything a call needs, so the first call is as fast as the rest."""
    import importlib

    from interlock import engine, secrets
    from interlock.actions import ShellAction
    from interlock.analyzers import catalog
    from interlock.config import Policy

    for name in WARM_MODULES:
        importlib.import_module(name)

    catalog.load()
    policy = Policy(project_root="/nonexistent/project", home="/nonexistent/home")
    for command in ("rm -rf ~/x && cat .env", "psql -c 'DROP TABLE t'", "python -c 'print(1)'"):
        engine.decide(ShellAction(command=command, cwd=policy.project_root), policy)
    secrets.mask("TOKEN=x https://u:p@h")


def fingerprint() -> tuple[tuple[str, int, int], ...]:
    """Every loaded Interlock source file and catalog, with its mtime and size."""
    root = _package_root()
    files = [
        m.__file__
        for m in list(sys.modules.values())
        if getattr(m, "__file__", None) and str(m.__file__).startswith(root)
    ]
    files += catalog_files(os.path.join(root, "analyzers", "catalogs"))
    out = []
    for path in sorted(str(f) for f in files):
        try:
            info = os.stat(path)
        except OSError:
            out.append((path, -1, -1))
        else:
            out.append((path, info.st_mtime_ns, info.st_size))
    return tuple(out)


Stamp = tuple[int, int]


def _stamps(found: tuple[tuple[str, int, int], ...]) -> list[tuple[str, Stamp]]:
    return [(path, (mtime, size)) for path, mtime, size in found]


def changed(known: dict[str, Stamp], now: dict[str, Stamp]) -> bool:
    """True when a watched file changed or went, or a catalog file appeared.

    A module imported since the last call (a lazily imported analyzer such as runner_git) is
    not a change: it was loaded from disk as it is now, and is watched from here on.
    """
    if any(now.get(path) != stamp for path, stamp in known.items()):
        return True
    catalogs = os.path.join(_package_root(), "analyzers", "catalogs") + os.sep
    if any(path.startswith(catalogs) for path in now.keys() - known.keys()):
        return True
    known.update(now)
    return False


def _package_root() -> str:
    import interlock

    return os.path.dirname(os.path.abspath(interlock.__file__))


def catalog_files(folder: str) -> list[str]:
    """Every file under the catalogs folder, subfolders included (``providers/*.toml``, read by
    the HTTP analyzer): an edit or a new file anywhere there makes a running daemon stale."""
    found: list[str] = []
    for parent, folders, names in os.walk(folder):  # an unreadable folder is skipped
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        found += [os.path.join(parent, n) for n in names]
    return found


def serve(path: str) -> int:
    if not client.private_dir(os.path.dirname(path), create=True):
        return 1
    warm()
    known = dict(_stamps(fingerprint()))
    listener = _bind(path)
    if listener is None:
        return 0  # another daemon answers on this socket already
    identity = os.stat(path).st_ino
    listener.settimeout(_idle_seconds())
    own_environment = dict(os.environb)
    own_cwd = os.getcwdb()
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                return 0
            if changed(known, dict(_stamps(fingerprint()))):
                with contextlib.suppress(OSError):
                    conn.sendall(client.MAGIC + b" stale\n")
                conn.close()
                return 0
            try:
                _serve_one(conn)
            finally:
                os.environb.clear()
                os.environb.update(own_environment)
                with contextlib.suppress(OSError):
                    os.chdir(own_cwd)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == identity:
                os.unlink(path)


def _bind(path: str) -> socket.socket | None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_mask = os.umask(0o177)
    try:
        listener.bind(path)
    except OSError:
        if _answers(path):
            listener.close()
            return None
        with contextlib.suppress(OSError):
            os.unlink(path)  # left behind by a daemon that died
        listener.bind(path)
    finally:
        os.umask(old_mask)
    listener.listen(64)
    return listener


def _answers(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _serve_one(conn: socket.socket) -> None:
    """Read one call, take on the caller's world, run the hook, answer."""
    try:
        conn.settimeout(READ_TIMEOUT)
        data = client.read_all(conn)
        head, _, body = data.partition(b"\n")
        fields = head.split()
        if len(fields) != 4 or fields[0] != client.MAGIC:
            return
        agent_len, cwd_len, env_len = (int(f) for f in fields[1:])
        agent = body[:agent_len].decode()
        cwd = body[agent_len : agent_len + cwd_len]
        environment = body[agent_len + cwd_len : agent_len + cwd_len + env_len]
        payload = body[agent_len + cwd_len + env_len :]
        os.environb.clear()
        for pair in environment.split(b"\0") if environment else ():
            key, _, value = pair.partition(b"=")
            if key:
                os.environb[key] = value
        with contextlib.suppress(OSError):
            os.chdir(cwd)
        from interlock.hooks.runner import HandOff, run

        try:
            rendered = run(agent, io.BytesIO(payload), may_wait=False)
        except HandOff:
            conn.sendall(client.LOCAL)
            return
        out = rendered.stdout.encode("utf-8")
        err = rendered.stderr.encode("utf-8")
        code = rendered.exit_code if rendered.exit_code in (0, 2) else 2
        conn.sendall(b"%s %d %d %d\n" % (client.MAGIC, code, len(out), len(err)) + out + err)
    except BaseException:  # the client decides in-process when it gets no valid answer
        return
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def _idle_seconds() -> float:
    try:
        value = float(os.environ.get("INTERLOCK_DAEMON_IDLE", DEFAULT_IDLE))
    except ValueError:
        return DEFAULT_IDLE
    return value if value > 0 else DEFAULT_IDLE


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]) if len(sys.argv) == 2 else 2)
