"""Deleting a backup: only with the admin key, only after a cooling-off that can be cancelled.

Modelled on AWS Backup Vault Lock in compliance mode (a 72-hour cooling-off) and S3 Object
Lock. The caller has already checked the vault admin key (``access.check``); this module keeps
the rules that hold whoever calls it:

1. A **request** names a backup and a reason. It is a write-once record in
   ``<vault>/deletions/`` and fires ``vault.deletion_requested`` (critical). It becomes due
   ``cooling_off`` seconds later: by default the vault's floor, which is at least 72 hours, and
   never less (:func:`floor`, :func:`set_floor`).
2. Until it is carried out, the admin key or any writer token may **cancel** it (cancelling
   only ever keeps data): a write-once record, and ``vault.deletion_cancelled``.
3. A **purge** carries out each request that is due, not cancelled, and whose backup is past
   every lock and past its source's ``keep_within`` (retention.py): the manifest first, then
   the objects only it referenced, each removal refused by the backend itself while locked.
   Then ``vault.deletion_done``. A request whose backup is still kept waits; nothing else
   happens to it.

Records (JSON, mode 0400, ``O_EXCL``: never rewritten, never removed)::

    deletions/floor.json           the vault's cooling-off floor, set once, never lowered
    deletions/<id>.request.json    snapshot, reason, by, requested, due
    deletions/<id>.cancel.json     by, cancelled
    deletions/<id>.purging.json    the objects to remove, written before the first removal
    deletions/<id>.done.json       what was removed

A purge cut short resumes from ``<id>.purging.json``: after the manifest is gone, only that
record says which objects were its own. The admin key alone cannot make the cooling-off
shorter, delete a locked or young backup, or remove these records through this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from interlock.vault import retention
from interlock.vault.backends.local import LocalBackend
from interlock.vault.errors import VaultError, VaultIntegrityError, VaultKeyError

if TYPE_CHECKING:
    from interlock.vault.report import Reporter

__all__ = [
    "MINIMUM_COOLING_OFF",
    "Pending",
    "cancel",
    "floor",
    "pending",
    "purge",
    "request",
    "set_floor",
]

Clock = Callable[[], float]

# AWS Backup Vault Lock's grace time before compliance mode is final is 72 hours; ours is the
# least a vault's floor can be, so a stolen admin key always leaves three days to notice.
MINIMUM_COOLING_OFF = 72 * 3600.0
_MAXIMUM_COOLING_OFF = 3650 * 86400.0
_FOLDER = "deletions"
_FLOOR = "floor.json"
_ID = re.compile(r"^[0-9a-f]{12}$")
_REASON_LIMIT = 500


@dataclass(frozen=True)
class Pending:
    """A deletion request not cancelled and not yet carried out."""

    id: str
    snapshot: str
    reason: str
    by: str
    requested: float  # seconds since the epoch
    due: float  # requested + cooling_off: not carried out before this
    cooling_off: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def is_due(self, now: float) -> bool:
        return now >= self.due


def floor(root: Path) -> float:
    """The vault's cooling-off floor in seconds: as set once by :func:`set_floor`, else 72 h."""
    path = Path(root) / _FOLDER / _FLOOR
    if not path.exists():
        return MINIMUM_COOLING_OFF
    record = _read(path)
    try:
        seconds = float(record["cooling_off_seconds"])
    except (KeyError, TypeError, ValueError):
        raise VaultIntegrityError(f"{path} is damaged: no cooling_off_seconds") from None
    # A floor file edited by hand to less than the minimum does not lower it.
    return max(seconds, MINIMUM_COOLING_OFF)


def set_floor(root: Path, seconds: float, *, by: str, clock: Clock = time.time) -> None:
    """Fix the vault's floor once, at 72 h or more. It is written once and never changed:
    whoever holds the admin key later can neither lower it nor set it again."""
    _check_vault(root)
    if seconds < MINIMUM_COOLING_OFF:
        raise VaultError(
            f"a cooling-off floor of {_span(seconds)} is below the minimum of "
            f"{_span(MINIMUM_COOLING_OFF)}",
            "the floor can only make deletions wait longer than 72 hours, never less",
        )
    if seconds > _MAXIMUM_COOLING_OFF:
        raise VaultError(f"a cooling-off floor of {_span(seconds)} is over ten years")
    path = Path(root) / _FOLDER / _FLOOR
    if path.exists():
        raise VaultError(
            f"the vault at {root} already has a cooling-off floor of {_span(floor(root))}",
            "the floor is set once and never changed; a request may still ask for longer",
        )
    _write_once(
        path, {"cooling_off_seconds": seconds, "set": _iso(clock()), "by": by}, what="the floor"
    )


def request(
    root: Path,
    snapshot_id: str,
    *,
    reason: str,
    by: str,
    cooling_off: float | None = None,
    clock: Clock = time.time,
    reporter: Reporter | None = None,
) -> Pending:
    """Ask for a backup's deletion: recorded, alerted, and due ``cooling_off`` from now."""
    root = Path(root)
    backend = _check_vault(root)
    reason = " ".join(reason.split())
    if not reason:
        raise VaultError("a deletion request needs a reason (--reason)")
    if len(reason) > _REASON_LIMIT:
        raise VaultError(f"the reason is over {_REASON_LIMIT} characters")
    minimum = floor(root)
    wait = minimum if cooling_off is None else float(cooling_off)
    if wait < minimum:
        raise VaultError(
            f"a cooling-off of {_span(wait)} is shorter than this vault's floor of "
            f"{_span(minimum)}",
            "deletions wait at least the vault's floor; it can be made longer, never shorter",
        )
    if wait > _MAXIMUM_COOLING_OFF:
        raise VaultError(f"a cooling-off of {_span(wait)} is over ten years")
    snapshot = _find(backend, snapshot_id)
    alerts = _reporter(reporter)
    if alerts.url is None:
        # A request nobody hears of would go through unseen 72 hours later: the cooling-off
        # is only worth something with the alert, so there is no request without one.
        raise VaultError(
            "no alert can be sent for a deletion request: no interlock.toml was found",
            "run it where the Interlock server's interlock.toml is (or set INTERLOCK_CONFIG), "
            "so vault.deletion_requested reaches its notifiers",
        )
    with _locked(root):
        for other in pending(root, clock):
            if other.snapshot == snapshot:
                raise VaultError(
                    f"backup {snapshot[:12]} already has a pending deletion request {other.id}",
                    "see `interlock vault delete list`",
                )
        now = clock()
        made = Pending(
            id=secrets.token_hex(6),
            snapshot=snapshot,
            reason=reason,
            by=by,
            requested=now,
            due=now + wait,
            cooling_off=wait,
        )
        body = made.to_json() | {"requested_at": _iso(now), "due_at": _iso(made.due)}
        _write_once(_record(root, made.id, "request"), body, what="the deletion request")
    kept = _kept_until(backend, snapshot)
    later = (
        f"; the backup is locked until {_iso(kept.timestamp())}, so it goes at the first purge "
        "after that"
        if kept is not None and kept.timestamp() > made.due
        else ""
    )
    alerts.alert(
        "vault.deletion_requested",
        f"vault: deletion of backup {snapshot[:12]} requested by {by} ({reason}); it is carried "
        f"out after {_iso(made.due)} unless cancelled: `interlock vault delete cancel "
        f"{made.id}`{later}",
        {
            "deletion": made.id,
            "snapshot": snapshot,
            "reason": reason,
            "by": by,
            "due": _iso(made.due),
            "cooling_off_seconds": wait,
            "vault": str(root),
        },
        actor=by,
    )
    return made


def cancel(
    root: Path,
    deletion_id: str,
    *,
    by: str,
    clock: Clock = time.time,
    reporter: Reporter | None = None,
) -> None:
    """Cancel a request (admin key or writer token): recorded once; cancelling twice is fine."""
    root = Path(root)
    _check_vault(root)
    if not _ID.match(deletion_id):
        raise VaultError(f"not a deletion id: {deletion_id[:40]!r}", "see `vault delete list`")
    with _locked(root):
        found = _request(root, deletion_id)
        if _record(root, deletion_id, "cancel").exists():
            return
        if _record(root, deletion_id, "purging").exists():
            raise VaultError(
                f"deletion {deletion_id} of backup {found.snapshot[:12]} has been carried out",
                "a purge already began removing it; restore from another backup if needed",
            )
        _write_once(
            _record(root, deletion_id, "cancel"),
            {"id": deletion_id, "by": by, "cancelled": clock(), "cancelled_at": _iso(clock())},
            what="the cancellation",
        )
    _reporter(reporter).alert(
        "vault.deletion_cancelled",
        f"vault: deletion {deletion_id} of backup {found.snapshot[:12]} cancelled by {by}; "
        "the backup is kept",
        {"deletion": deletion_id, "snapshot": found.snapshot, "by": by, "vault": str(root)},
        actor=by,
    )


def pending(root: Path, clock: Clock = time.time) -> list[Pending]:
    """Requests neither cancelled nor carried out, oldest first."""
    folder = Path(root) / _FOLDER
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.request.json")):
        deletion_id = path.name.split(".", 1)[0]
        if (
            _record(root, deletion_id, "cancel").exists()
            or _record(root, deletion_id, "done").exists()
        ):
            continue
        found.append(_request(Path(root), deletion_id))
    return sorted(found, key=lambda p: (p.requested, p.id))


def purge(
    root: Path,
    *,
    by: str,
    clock: Clock = time.time,
    reporter: Reporter | None = None,
) -> list[str]:
    """Carry out every due, uncancelled request whose backup is no longer kept; the ids of
    the backups removed. Needs the vault key, to know which objects each backup uses."""
    from interlock.vault import keys
    from interlock.vault.repository import Repository

    root = Path(root)
    _check_vault(root)
    backend = LocalBackend(root, clock=clock)
    try:
        repository = Repository(backend, keys.load(root))
    except VaultKeyError as exc:
        raise VaultKeyError(
            f"a purge needs the vault key, to know which objects only a deleted backup uses: {exc}"
        ) from None
    repository.init_or_check(create=False)
    removed = []
    for due in pending(root, clock):
        if not due.is_due(clock()):
            continue
        with _locked(root):
            if _record(root, due.id, "cancel").exists():
                continue  # cancelled since it was listed
            objects = _plan(repository, root, due, clock)
        if objects is None:
            continue
        if backend.exists("snapshots", due.snapshot):
            backend.remove("snapshots", due.snapshot)  # first: the backup stops existing
        for name in objects:
            with contextlib.suppress(FileNotFoundError):  # a purge resumed after a cut
                backend.remove("objects", name)
        _write_once(
            _record(root, due.id, "done"),
            {
                "id": due.id,
                "snapshot": due.snapshot,
                "objects_removed": len(objects),
                "by": by,
                "done": clock(),
                "done_at": _iso(clock()),
            },
            what="the deletion's record",
        )
        removed.append(due.snapshot)
        _reporter(reporter).alert(
            "vault.deletion_done",
            f"vault: backup {due.snapshot[:12]} deleted ({len(objects)} object(s)) by {by}, "
            f"as requested by {due.by} at {_iso(due.requested)} ({due.reason})",
            {
                "deletion": due.id,
                "snapshot": due.snapshot,
                "objects_removed": len(objects),
                "by": by,
                "requested_by": due.by,
                "reason": due.reason,
                "vault": str(root),
            },
            actor=by,
        )
    return removed


def _plan(repository: Any, root: Path, due: Pending, clock: Clock) -> list[str] | None:
    """The objects a due request will remove (written down first), or None while its backup
    is still kept. Called under the deletions lock, so no cancel slips in between."""
    purging = _record(root, due.id, "purging")
    if purging.exists():
        return [str(name) for name in _read(purging)["objects"]]
    backend: LocalBackend = repository.backend
    if not backend.exists("snapshots", due.snapshot):
        objects: list[str] = []  # already gone (an earlier purge of the same backup)
    else:
        snapshot = repository.load(due.snapshot)
        now = datetime.fromtimestamp(clock(), UTC)
        keep_within = retention.configured_keep_within()
        kept = retention.status(backend, [(snapshot.id, snapshot.manifest)], keep_within)[0]
        if not kept.eligible(now):
            return None
        others: set[str] = set()
        for name in backend.list("snapshots"):
            if name != snapshot.id:
                # A manifest that cannot be read stops the purge: its objects are unknown,
                # and guessing could remove another backup's data.
                others.update(c.object for c in repository.load(name).manifest.chunks())
        mine = {c.object for c in snapshot.manifest.chunks()}
        objects = sorted(mine - others)
        for name in objects:
            end = backend.locked_until("objects", name)
            if end is not None and end > now:
                return None
    _write_once(
        purging,
        {"id": due.id, "snapshot": due.snapshot, "objects": objects, "began_at": _iso(clock())},
        what="the purge plan",
    )
    return objects


def _kept_until(backend: LocalBackend, snapshot: str) -> datetime | None:
    return backend.locked_until("snapshots", snapshot)


def _find(backend: LocalBackend, snapshot_id: str) -> str:
    """The full id of the one stored backup starting with ``snapshot_id`` (keyless)."""
    prefix = snapshot_id.strip().lower()
    if len(prefix) < 6 or any(c not in "0123456789abcdef" for c in prefix):
        raise VaultError(
            "give at least 6 hex characters of the snapshot id (`interlock vault list`)"
        )
    names = [n for n in backend.list("snapshots") if n.startswith(prefix)]
    if not names:
        raise VaultError(f"no backup {prefix} in the vault at {backend.location}")
    if len(names) > 1:
        raise VaultError(f"{prefix} matches {len(names)} backups; give more characters")
    return names[0]


def _request(root: Path, deletion_id: str) -> Pending:
    path = _record(root, deletion_id, "request")
    if not path.exists():
        raise VaultError(f"no deletion request {deletion_id}", "see `interlock vault delete list`")
    body = _read(path)
    try:
        return Pending(
            id=str(body["id"]),
            snapshot=str(body["snapshot"]),
            reason=str(body["reason"]),
            by=str(body["by"]),
            requested=float(body["requested"]),
            due=float(body["due"]),
            cooling_off=float(body["cooling_off"]),
        )
    except (KeyError, TypeError, ValueError):
        raise VaultIntegrityError(f"{path} is damaged") from None


def _check_vault(root: Path) -> LocalBackend:
    if not (Path(root) / "config").exists():
        raise VaultError(
            f"no vault at {root}", "deletions work on the vault's own folder: pass --vault DIR"
        )
    return LocalBackend(Path(root))


def _record(root: Path, deletion_id: str, what: str) -> Path:
    return Path(root) / _FOLDER / f"{deletion_id}.{what}.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        body = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise VaultIntegrityError(f"{path} is unreadable: {exc}") from None
    if not isinstance(body, dict):
        raise VaultIntegrityError(f"{path} is not a JSON object")
    return body


def _write_once(path: Path, body: dict[str, Any], *, what: str) -> None:
    """Create ``path`` with ``body``, durably; an existing file is never replaced."""
    data = json.dumps(body, indent=2, sort_keys=True).encode() + b"\n"
    try:
        path.parent.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except FileExistsError:
        raise VaultError(f"{path} exists: {what} is written once") from None
    except OSError as exc:
        raise VaultError(f"cannot write {what} at {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """One request, cancel or purge decision at a time, so a cancel never races a purge."""
    folder = Path(root) / _FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _reporter(reporter: Reporter | None) -> Reporter:
    if reporter is not None:
        return reporter
    from interlock.config import find_config
    from interlock.vault.report import from_config

    return from_config(find_config(Path.cwd()))


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _span(seconds: float) -> str:
    if seconds >= 86400 and seconds % 3600 == 0:
        return f"{seconds / 86400:g} d" if seconds % 86400 == 0 else f"{seconds / 3600:g} h"
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return str(timedelta(seconds=round(seconds)))
