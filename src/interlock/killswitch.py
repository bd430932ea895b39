"""The kill switch's local state file: checked by every hook call without a network round trip.

``interlock kill`` (or the dashboard's button) writes ``KILLED`` into the server's data folder;
every replica mirrors the shared database's switch into its own folder each second. A hook
looks in three places (a few ``stat`` calls, standard library only, issue 5 item 7):

1. ``$INTERLOCK_HOME/KILLED``,
2. ``<project root>/.interlock/KILLED``,
3. ``~/.interlock/KILLED``.

While any exists, every hook denies everything. Only ``interlock resume``, which needs an
approver's password, removes it. An agent cannot remove it either: ``.interlock/`` is a guarded
folder (writes to it are denied, docs/shell.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

FILE_NAME = "KILLED"


def places(project_root: str | None) -> list[Path]:
    return [Path(p) for p in _places(project_root)]


def _places(project_root: str | None) -> list[str]:
    # Strings, not Paths: building three Paths costs about 50 µs on every hook call.
    found: list[str] = []
    home = os.environ.get("INTERLOCK_HOME")
    if home:
        found.append(os.path.join(home, FILE_NAME))
    if project_root:
        found.append(os.path.join(project_root, ".interlock", FILE_NAME))
    found.append(os.path.join(os.path.expanduser("~"), ".interlock", FILE_NAME))
    return found


def engaged(project_root: str | None) -> dict[str, Any] | None:
    """The switch's record when it is on anywhere this hook looks, else None.

    An unreadable or malformed file still counts as on: failing closed beats guessing. Every
    hook call asks, so the usual answer (no file anywhere) is three ``access`` calls on plain
    strings, about 10 µs (Paths and raised FileNotFoundErrors cost about 75 µs).
    """
    for place in _places(project_root):
        if not os.access(place, os.F_OK):
            continue
        path = Path(place)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            continue
        except OSError:
            return {"path": str(path), "by": "?", "reason": "kill switch file unreadable"}
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            record = {"by": "?", "reason": "kill switch file malformed"}
        return {**record, "path": str(path)}
    return None


def write(folder: Path, by: str, reason: str = "", at: float | None = None) -> Path:
    """Turn the switch on in ``folder`` (atomically: a reader sees all of it or nothing)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE_NAME
    tmp = folder / f".{FILE_NAME}.{os.getpid()}"
    record = {"by": by, "reason": reason, "at": at if at is not None else time.time()}
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)
    return path


def clear(folder: Path) -> bool:
    try:
        (folder / FILE_NAME).unlink()
    except FileNotFoundError:
        return False
    return True


def message(record: dict[str, Any]) -> str:
    by = record.get("by") or "someone"
    reason = f" ({record['reason']})" if record.get("reason") else ""
    return (
        f"the Interlock kill switch is on, set by {by}{reason}: every action is denied until "
        "an approver runs `interlock resume`"
    )


# --- one agent session ------------------------------------------------------------------------
#
# A honeytoken tripped by one agent session stops that session only (issue 6 item 5): every
# later call of it is denied, while other sessions go on. The switch is a file named by the
# SHA-256 of the session id (an id is not a safe file name, and the folder need not list ids)
# in ``killed-sessions/`` of the same places as ``KILLED``; the hook that tripped writes it
# into ``<project>/.interlock/``, the server into its data folder. A person removes the file to
# let the session go on; the agent cannot (``.interlock/`` is guarded).

SESSIONS_DIR = "killed-sessions"


def session_key(session: str | None) -> str:
    """The session's file name. A call without a session id counts as the session ``""``:
    once one such call tripped, every call without an id is denied (failing closed)."""
    return hashlib.sha256((session or "").encode("utf-8", "surrogatepass")).hexdigest()


def session_engaged(project_root: str | None, session: str | None) -> dict[str, Any] | None:
    """The record of the switch that stopped ``session``, else None (one ``access`` per place)."""
    tail = "/" + SESSIONS_DIR + "/" + session_key(session)
    for place in _places(project_root):
        path = place[: -len(FILE_NAME) - 1] + tail  # the KILLED file's folder
        if not os.access(path, os.F_OK):
            continue
        try:
            record = json.loads(Path(path).read_bytes())
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            record = None
        if not isinstance(record, dict):
            record = {"reason": "session kill file unreadable or malformed"}
        return {**record, "path": path}
    return None


def kill_session(folder: Path, session: str | None, record: dict[str, Any]) -> Path:
    """Stop ``session`` for every hook that looks in ``folder`` (atomically, like :func:`write`)."""
    target = folder / SESSIONS_DIR
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = target / session_key(session)
    tmp = target / f".{path.name}.{os.getpid()}"
    tmp.write_text(json.dumps({"at": time.time(), **record}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def session_message(record: dict[str, Any]) -> str:
    reason = record.get("reason") or "it was stopped"
    return (
        f"this agent session was stopped: {reason}. Every call of this session is denied; a "
        "person must look at what happened (docs/honeytokens.md) before work goes on in a new "
        "session"
    )
