"""``interlock vault schedule``: back up each source to its target RPO, drill it, report it all.

For each ``[vault.sources.<name>]`` of interlock.toml (vault/settings.py), one pass:

1. **Back up** when the newest good backup in the vault is older than half the source's
   ``rpo`` (so a backup that fails once, or runs long, still leaves the RPO met), or when
   there is none. A failed backup is retried with a growing wait (:func:`backoff`), never
   sooner, so a dead database is not hammered; every failure is reported (an alert).
2. **Drill** when the last drill is older than ``drill_every`` (GitLab's twice-daily restore
   tests; the default is daily): restore the newest backup into a scratch target and check it
   (vault/drills.py). A failed drill is retried after a wait as well.

Every outcome goes to the approval server through vault/report.py, so the dashboard shows it
and a failure pages. A scheduler that dies cannot report its own death: the server's own
checks (server/vault_status.py) alert when a source's newest backup passes its RPO or no drill
has passed for 26 hours, whoever was meant to run them.

What is due is decided by pure functions (:func:`backup_due`, :func:`drill_due`,
:func:`next_wake`) from what the vault holds (its manifests, and its ``drills.jsonl`` for a
folder vault) and what this process remembers; :class:`Scheduler` does the I/O.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from interlock.secrets import mask
from interlock.vault.drills import LOG_NAME, DrillResult, run_drill
from interlock.vault.errors import VaultError, describe
from interlock.vault.report import Reporter, point_in_time
from interlock.vault.repository import Repository, Snapshot, open_vault
from interlock.vault.settings import SourceSettings, VaultSettings, span

__all__ = [
    "Outcome",
    "Scheduler",
    "SourceState",
    "backoff",
    "backup_due",
    "drill_due",
    "next_wake",
]

Clock = Callable[[], float]
Echo = Callable[[str, bool], None]

# A failed job is tried again after 30 s, 1 min, 2 min … never more than 15 min apart, and
# never more than a quarter of the source's RPO apart (a 1 h RPO retries every 15 min at most).
FIRST_RETRY = 30.0
LONGEST_RETRY = 900.0
# The loop looks again at least this often, so a change in the vault (a manual backup) counts.
LONGEST_SLEEP = 300.0
# A run of failures pages on its first, then at most this often (the retries are more frequent;
# the server's vault.stale check pages on its own once the RPO is passed).
REALERT = 3600.0


@dataclass
class SourceState:
    """What is known about one source: from the vault, and what this process saw."""

    newest_backup: float | None = None  # the newest good backup's point in time
    newest_snapshot: str = ""
    last_drill: float | None = None  # when the last drill (passed or failed) ended
    backup_failures: int = 0
    retry_backup_at: float = 0.0
    backup_alerted_at: float | None = None
    drill_failures: int = 0
    retry_drill_at: float = 0.0
    drill_alerted_at: float | None = None


@dataclass(frozen=True)
class Outcome:
    source: str
    job: str  # "backup" or "drill"
    ok: bool
    text: str


@dataclass
class Pass:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


def backoff(failures: int, rpo: float) -> float:
    """Seconds to wait after the ``failures``-th failure in a row."""
    ceiling = max(FIRST_RETRY, min(LONGEST_RETRY, rpo / 4))
    return float(min(ceiling, FIRST_RETRY * 2 ** max(0, failures - 1)))


def backup_due(source: SourceSettings, state: SourceState, now: float) -> bool:
    if state.backup_failures and now < state.retry_backup_at:
        return False
    return state.newest_backup is None or now - state.newest_backup >= source.rpo_seconds / 2


def drill_due(source: SourceSettings, state: SourceState, now: float) -> bool:
    if state.newest_backup is None:
        return False  # nothing to restore yet; the server's no_drill check still watches
    if state.drill_failures and now < state.retry_drill_at:
        return False
    return state.last_drill is None or now - state.last_drill >= source.drill_every_seconds


def next_wake(
    sources: Iterable[SourceSettings], states: dict[str, SourceState], now: float
) -> float:
    """When the next job falls due (at most :data:`LONGEST_SLEEP` from ``now``)."""
    wake = now + LONGEST_SLEEP
    for source in sources:
        state = states.get(source.name, SourceState())
        if state.backup_failures:
            wake = min(wake, state.retry_backup_at)
        elif state.newest_backup is not None:
            wake = min(wake, state.newest_backup + source.rpo_seconds / 2)
        else:
            return now
        if state.newest_backup is not None:
            if state.drill_failures:
                wake = min(wake, state.retry_drill_at)
            elif state.last_drill is None:
                return now
            else:
                wake = min(wake, state.last_drill + source.drill_every_seconds)
    return max(now, wake)


class Scheduler:
    """Runs what is due for every configured source and reports each outcome."""

    def __init__(
        self,
        settings: VaultSettings,
        location: str,
        reporter: Reporter,
        *,
        clock: Clock = time.time,
        echo: Echo | None = None,
    ) -> None:
        if not settings.sources:
            raise VaultError(
                f"{settings.source_file or 'interlock.toml'} names no [vault.sources.<name>]",
                "add a source (docs/vault.md, 'Schedules, freshness and alerts')",
            )
        self.settings = settings
        self.location = location
        self.reporter = reporter
        self.clock = clock
        self.echo: Echo = echo or (lambda text, error: print(text))
        self.states: dict[str, SourceState] = {name: SourceState() for name in settings.sources}
        self.quiet = False  # the loop does not print a line per fresh source every pass
        self._repository: Repository | None = None

    # --- one pass -----------------------------------------------------------------------------

    def run_once(self) -> Pass:
        """Back up every source that is due, then drill every source that is due."""
        done = Pass()
        snapshots = self._look()
        for source in self.settings.sources.values():
            if backup_due(source, self.states[source.name], self.clock()):
                done.outcomes.append(self._backup(source))
            elif self.quiet:
                continue
            elif self.states[source.name].backup_failures:
                wait = self.states[source.name].retry_backup_at - self.clock()
                self.echo(f"backup {source.name}: retrying in {span(wait)}", False)
            else:
                age = self.clock() - (self.states[source.name].newest_backup or 0.0)
                self.echo(
                    f"backup {source.name}: fresh ({span(age)} old, next at half its "
                    f"{span(source.rpo_seconds)} RPO)",
                    False,
                )
        for source in self.settings.sources.values():
            if drill_due(source, self.states[source.name], self.clock()):
                done.outcomes.append(self._drill(source, snapshots))
        return done

    def run_forever(self, stop: threading.Event) -> None:
        """Passes until ``stop`` is set (SIGTERM): a job under way finishes first, since a
        backup cut short is never listed anyway and a drill drops its scratch target."""
        self.quiet = True
        while not stop.is_set():
            self.run_once()
            now = self.clock()
            wake = next_wake(self.settings.sources.values(), self.states, now)
            stop.wait(max(1.0, wake - now))

    # --- jobs ---------------------------------------------------------------------------------

    def _backup(self, source: SourceSettings) -> Outcome:
        state = self.states[source.name]
        began = time.monotonic()
        try:
            snapshot = _backup(self._open(), source)
        except Exception as exc:  # any failure of one source is reported; others still run
            error = describe(exc, 1000)
            state.backup_failures += 1
            wait = backoff(state.backup_failures, source.rpo_seconds)
            state.retry_backup_at = self.clock() + wait
            page = _page(state.backup_failures, state.backup_alerted_at, self.clock())
            if page:
                state.backup_alerted_at = self.clock()
            self.reporter.backup_failed(
                source.name, source.kind, error, source.rpo_seconds, alert=page
            )
            text = (
                f"backup {source.name} FAILED ({state.backup_failures} in a row; "
                f"next try in {span(wait)}): {error}"
            )
            self.echo(text, True)
            return Outcome(source.name, "backup", False, text)
        state.backup_failures, state.backup_alerted_at = 0, None
        state.newest_backup = point_in_time(snapshot.manifest.started)
        state.newest_snapshot = snapshot.id
        size = snapshot.manifest.size
        self.reporter.backup_ok(
            source.name, source.kind, snapshot.id, state.newest_backup, size, source.rpo_seconds
        )
        text = (
            f"backup {source.name}: snapshot {snapshot.id[:12]}, {size} B "
            f"in {time.monotonic() - began:.2f} s"
        )
        self.echo(text, False)
        return Outcome(source.name, "backup", True, text)

    def _drill(self, source: SourceSettings, snapshots: dict[str, Snapshot]) -> Outcome:
        state = self.states[source.name]
        try:
            if source.kind == "postgres" and not self.settings.drill_postgres:
                raise VaultError(
                    f"{self.settings.source_file}: set [vault] drill_postgres, a PostgreSQL "
                    "server where drills may create and drop scratch databases"
                )
            repository = self._open()
            snapshot = snapshots.get(source.name)
            if snapshot is None or snapshot.id != state.newest_snapshot:
                snapshot = repository.load(state.newest_snapshot)
            result = run_drill(
                repository,
                snapshot,
                postgres_url=self.settings.drill_postgres,
                assertions=source.assertions,
                log=self._drill_log(),
            )
        except Exception as exc:  # the drill could not even start: that is a failed drill
            result = _not_run(source, state, describe(exc, 1000), self.clock())
        state.last_drill = self.clock()
        page = False
        if result.ok:
            state.drill_failures, state.drill_alerted_at = 0, None
        else:
            state.drill_failures += 1
            state.retry_drill_at = self.clock() + backoff(
                state.drill_failures, source.drill_every_seconds
            )
            page = _page(state.drill_failures, state.drill_alerted_at, self.clock())
            if page:
                state.drill_alerted_at = self.clock()
        self.reporter.drill(result, source.rpo_seconds, alert=page)
        verdict = "ok" if result.ok else f"FAILED: {mask(result.error)}"
        text = (
            f"drill {source.name} {result.snapshot[:12]}: RTO {result.rto_seconds:.2f} s, "
            f"RPO {result.rpo_seconds:.0f} s: {verdict}"
        )
        self.echo(text, not result.ok)
        return Outcome(source.name, "drill", result.ok, text)

    # --- what the vault holds -----------------------------------------------------------------

    def _look(self) -> dict[str, Snapshot]:
        """Refresh each source's newest backup and last drill from the vault (it may have been
        written by others: a manual backup, a pre-destroy snapshot); returns the newest
        snapshot per source. An unreachable vault leaves what this process knew."""
        try:
            repository = self._open()
            found = repository.snapshots()
        except Exception:  # the backups that fall due report the same error, with the source
            self._repository = None
            return {}
        newest: dict[str, Snapshot] = {}
        for snapshot in found:
            name = snapshot.manifest.source
            if name not in newest or snapshot.manifest.started > newest[name].manifest.started:
                newest[name] = snapshot
        drilled = self._last_drills()
        for name, state in self.states.items():
            if name in newest:
                at = point_in_time(newest[name].manifest.started)
                if state.newest_backup is None or at >= state.newest_backup:
                    state.newest_backup, state.newest_snapshot = at, newest[name].id
            if name in drilled and (state.last_drill is None or drilled[name] > state.last_drill):
                state.last_drill = drilled[name]
        return newest

    def _last_drills(self) -> dict[str, float]:
        log = self._drill_log()
        found: dict[str, float] = {}
        if log is None or not log.exists():
            return found
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                at = point_in_time(entry["drilled"])
                source = str(entry["source"])
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line; the drills before it still count
            found[source] = max(at, found.get(source, at))
        return found

    def _drill_log(self) -> Path | None:
        return Path(self.location) / LOG_NAME if "://" not in self.location else None

    def _open(self) -> Repository:
        if self._repository is None:
            self._repository = open_vault(self.location, create=True)
        return self._repository


def _page(failures: int, alerted_at: float | None, now: float) -> bool:
    """Whether this failure alerts: the first of a run, then one an hour while it lasts."""
    return failures == 1 or alerted_at is None or now - alerted_at >= REALERT


def _backup(repository: Repository, source: SourceSettings) -> Snapshot:
    if source.kind == "postgres":
        from interlock.vault.sources.postgres import backup_postgres

        return backup_postgres(repository, source.target, source.name)
    if source.kind == "sqlite":
        from interlock.vault.sources.sqlite import backup_sqlite

        return backup_sqlite(repository, Path(source.target), source.name)
    from interlock.vault.sources.folders import backup_folder

    return backup_folder(repository, Path(source.target), source.name)


def _not_run(source: SourceSettings, state: SourceState, error: str, now: float) -> DrillResult:
    from datetime import UTC, datetime

    backed_up = datetime.fromtimestamp(state.newest_backup or now, UTC)
    return DrillResult(
        source=source.name,
        snapshot=state.newest_snapshot,
        kind=source.kind,
        ok=False,
        error=error,
        rto_seconds=0.0,
        rpo_seconds=round(now - backed_up.timestamp(), 3),
        backed_up=backed_up.isoformat(),
        drilled=datetime.fromtimestamp(now, UTC).isoformat(),
        assertions=len(source.assertions),
    )
