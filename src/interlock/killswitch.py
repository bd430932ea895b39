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
