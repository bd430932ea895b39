"""Restore drills: a backup nobody has restored is a hope (issue 7 §6, GitLab 2017).

A drill restores a source's newest (or a random) backup into a scratch target (a new
PostgreSQL database, or a temporary folder for SQLite and folder backups), checks it the way
a real restore does (every chunk against its manifest; row counts and checksums; the user's
own SQL assertions), then drops the scratch target. It measures:

- RTO: seconds from the start of the restore to the end of its checks;
- RPO: the age, when the drill ends, of the point the restored data is from (the backup's
  start, which for PostgreSQL is the dump's snapshot).

Each drill appends one JSON line to ``<vault>/drills.jsonl``: outside the write-once object
store, since a drill log is a record of checks, not a backup.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from interlock.vault.errors import VaultError
from interlock.vault.repository import Repository, Snapshot, now
from interlock.vault.settings import span

__all__ = ["LOG_NAME", "DrillResult", "choose", "load_assertions", "run_drill"]

LOG_NAME = "drills.jsonl"


@dataclass(frozen=True)
class DrillResult:
    source: str
    snapshot: str
    kind: str
    ok: bool
    error: str
    rto_seconds: float
    rpo_seconds: float
    backed_up: str
    drilled: str
    assertions: int


def load_assertions(config: Path | None, source: str) -> list[str]:
    """``[vault.drills.<source>] assertions = [...]`` from interlock.toml, checked for shape."""
    if config is None:
        return []
    import tomllib

    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise VaultError(f"cannot read {config}: {exc}") from None
    table = data.get("vault", {}).get("drills", {}).get(source, {})
    found = table.get("assertions", []) if isinstance(table, dict) else None
    if not (isinstance(found, list) and all(isinstance(q, str) and q.strip() for q in found)):
        raise VaultError(
            f"{config}: vault.drills.{source}.assertions must be a list of SQL strings"
        )
    return found


def choose(
    repository: Repository,
    source: str | None,
    *,
    pick_random: bool,
    window: float | None = None,
    clock: Callable[[], float] = time.time,
) -> list[Snapshot]:
    """One backup per source (or of ``source``): its newest, or one at random; with ``window``
    (seconds), only among the backups finished that recently. A source with backups but none
    in the window is an error, not skipped: that is the finding a drill exists for."""
    by_source: dict[str, list[Snapshot]] = {}
    for snapshot in repository.snapshots():
        by_source.setdefault(snapshot.manifest.source, []).append(snapshot)
    if source is not None:
        if source not in by_source:
            raise VaultError(f"no backup of source {source!r} in the vault")
        by_source = {source: by_source[source]}
    if not by_source:
        raise VaultError("the vault holds no backup to drill")
    if window is not None:
        since = clock() - window
        by_source = {
            name: [s for s in snapshots if _finished(s) >= since]
            for name, snapshots in by_source.items()
        }
        empty = sorted(name for name, snapshots in by_source.items() if not snapshots)
        if empty:
            raise VaultError(
                f"no backup of {', '.join(empty)} finished within the window "
                f"({span(window)}): nothing recent to drill"
            )
    pick = random.SystemRandom().choice if pick_random else (lambda s: s[-1])
    return [pick(snapshots) for _, snapshots in sorted(by_source.items())]


def _finished(snapshot: Snapshot) -> float:
    return datetime.fromisoformat(snapshot.manifest.finished).timestamp()


def run_drill(
    repository: Repository,
    snapshot: Snapshot,
    *,
    postgres_url: str | None,
    assertions: Sequence[str],
    log: Path | None,
) -> DrillResult:
    """Restore ``snapshot`` into a scratch target, check it, drop it, and append to ``log``."""
    manifest = snapshot.manifest
    began = time.monotonic()
    error = ""
    try:
        if manifest.kind == "postgres":
            _drill_postgres(repository, snapshot, postgres_url, assertions)
        else:
            _drill_file(repository, snapshot, assertions)
    except VaultError as exc:
        error = str(exc)
    rto = time.monotonic() - began
    backed_up = datetime.fromisoformat(manifest.started)
    result = DrillResult(
        source=manifest.source,
        snapshot=snapshot.id,
        kind=manifest.kind,
        ok=not error,
        error=error,
        rto_seconds=round(rto, 3),
        rpo_seconds=round((datetime.now(UTC) - backed_up).total_seconds(), 3),
        backed_up=manifest.started,
        drilled=now(),
        assertions=len(assertions),
    )
    if log is not None:
        _log(log, result)
    return result


def _drill_postgres(
    repository: Repository, snapshot: Snapshot, url: str | None, assertions: Sequence[str]
) -> None:
    from interlock.vault.sources import postgres

    if url is None:
        raise VaultError(
            f"source {snapshot.manifest.source} is PostgreSQL: give --postgres URL, a server "
            "where the drill may create and drop a scratch database"
        )
    scratch = postgres.Target.parse(url).with_db(f"interlock_drill_{secrets.token_hex(6)}")
    postgres.create_database(scratch)
    try:
        postgres.load_and_check(repository, snapshot, scratch)
        with scratch.connect(autocommit=True) as conn:
            for index, query in enumerate(assertions, 1):
                try:
                    row = conn.execute(query).fetchone()
                except (
                    Exception
                ) as exc:  # psycopg's errors: the user's SQL failing is a failed drill
                    raise VaultError(f"assertion {index} ({query}) failed to run: {exc}") from None
                _check_assertion(index, query, row)
    finally:
        postgres.drop_database(scratch)


def _drill_file(repository: Repository, snapshot: Snapshot, assertions: Sequence[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="interlock-drill-") as scratch:
        target = Path(scratch) / "restored"
        if snapshot.manifest.kind == "sqlite":
            from interlock.vault.sources.sqlite import restore_sqlite

            restore_sqlite(repository, snapshot, target, force=False)
            with closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as db:
                for index, query in enumerate(assertions, 1):
                    try:
                        row = db.execute(query).fetchone()
                    except sqlite3.Error as exc:
                        raise VaultError(
                            f"assertion {index} ({query}) failed to run: {exc}"
                        ) from None
                    _check_assertion(index, query, row)
        else:
            from interlock.vault.sources.folders import restore_folder

            if assertions:
                raise VaultError("SQL assertions apply to database sources, not folders")
            restore_folder(repository, snapshot, target, force=False)


def _check_assertion(index: int, query: str, row: Any) -> None:
    """An assertion passes when its first row's first value is true (or a non-zero number)."""
    if row is None or not row[0]:
        got = "no row" if row is None else repr(row[0])
        raise VaultError(f"assertion {index} ({query}) is false on the restored data (got {got})")


def _log(log: Path, result: DrillResult) -> None:
    """Append one line and fsync it: a drill that ran is on disk before it is reported."""
    line = (json.dumps(asdict(result), sort_keys=True) + "\n").encode()
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
