"""Pre-destroy snapshots, the server's side (issue 7 item 7, docs/vault.md).

Before an *approved* destructive action on a data-bearing target is released, the vault takes a
fresh backup of every source that protects the target; if any backup fails, the action does
not run. PocketOS lost its database and its backups to one approved-looking ``volumeDelete``;
with this, an approval is worth nothing until the vault holds a copy of what it destroys.

The server and the gateway never hold the vault key: they ask ``interlock vault snapshotter``
(vault/snapshotter.py) with a trigger token that can only ask. Where it is called:

1. the gateway, when it is about to forward an approved request (gateway/http.py);
2. the approval server, when a hook's retry of an approved action comes to consume its
   approval (``POST /api/v1/requests``, server/app.py).

Both go through :func:`release`, in this order:

1. no ``[vault.sources.*] protects`` at all: plain ``submit`` (one cached file check);
2. is an approved, unused request waiting for exactly this action? (read only; not consumed);
3. the targets it destroys (:func:`targets_of`) and the sources protecting them; none: submit;
4. ask the snapshotter for each source, at once; **all** must answer 201. The asking runs as a
   task of its own: the gateway waits for it, a hook's submission only :data:`HOOK_WAIT`
   seconds (a hook gives up on the server after 3 s). Not done by then: this attempt is denied
   with "run the same command again", and the next attempt uses the snapshot once it is in;
5. a failure of any kind (the backup failed, the snapshotter is down, not configured, no
   trigger token) denies this attempt with the reason, records ``vault.predestroy_failed`` on
   the request (audit log, the card's events, a critical page) and does NOT consume the
   approval: the same action passes once the vault works;
6. success records ``predestroy_snapshot`` (sources and snapshot ids) on the request, then
   ``submit`` consumes the approval. Should it have expired meanwhile, the agent is told so and
   the snapshot stays, an extra backup.

Targets (what ``protects`` lists):

- ``railway:volume:<volumeId>``: a Railway ``volumeDelete`` (catalog rule
  ``http.provider.railway.volume_delete``), the ``volumeId`` as the request names it;
- ``postgres:<dbname>``: the databases :func:`databases_destroyed` finds, the one reading of
  "which databases does this action destroy" that the card (server/backups.py) uses too. A
  database dropped (``db.drop_database``: ``DROP DATABASE app`` as pglast read it, ``dropdb
  app``; ``cloud.delete_database``, ``db.reset`` …) is the database the finding names, never the
  one the client connects to (``psql -d postgres -c 'DROP DATABASE app'`` destroys ``app``).
  Tables, rows or keys destroyed (``db.drop_table``, ``db.truncate``, ``db.delete_all_rows``,
  any other ``db.drop_*``, ``db.truncate*``, ``db.delete*`` …) are in the database the client's
  command line connects to (:func:`databases_named`: the URL's or conninfo's ``dbname``,
  ``-d``/``--dbname``, the first positional argument, ``PGDATABASE=``/``DATABASE_URL=`` before
  the command). A database Interlock cannot name (a variable, ``pg_dropcluster``, SQL it could
  not read such as ``psql -f file.sql``, SQL sent without a client) is ``postgres:?``: every
  source with a ``postgres:`` target protects it. Fail toward more snapshots, never fewer.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from interlock.actions import Action, ShellAction
from interlock.decisions import Decision, Finding, Verdict
from interlock.errors import InterlockError
from interlock.secrets import mask
from interlock.server.approvals import ApprovalService, Outcome
from interlock.vault.settings import SourceSettings, VaultSettings

__all__ = [
    "DATABASE_OPERATIONS",
    "FAILED",
    "SNAPSHOT",
    "TABLE_OPERATIONS",
    "TIMEOUT_ENV",
    "UNSURE_DATABASE_OPERATIONS",
    "Destroyed",
    "SnapshotOutcome",
    "databases_destroyed",
    "databases_named",
    "release",
    "snapshot_before",
    "targets_of",
]

SNAPSHOT = "predestroy_snapshot"
FAILED = "vault.predestroy_failed"
TIMEOUT_ENV = "INTERLOCK_SNAPSHOT_TIMEOUT"
DEFAULT_TIMEOUT = 900.0
"""Seconds to wait for one backup: generous, since a large database takes minutes to dump."""
UNKNOWN_DATABASE = "postgres:?"
_POSTGRES_CLIENTS = frozenset({"psql", "pgcli", "usql", "cockroach"})

# What each operation destroys, as the findings name it (analyzers/catalogs). Data, not a chain
# of ifs: a new operation is one line here and one case in the tests.
DATABASE_OPERATIONS = frozenset(
    {
        "db.drop_database",
        "db.reset",
        "db.restore_over",
        "db.flushall",
        "db.flushdb",
        "db.swapdb",
        "cloud.delete_database",
        "cloud.database.delete",
    }
)
"""A whole database: the finding's targets are databases' names (none: one Interlock cannot
name)."""
TABLE_OPERATIONS = frozenset(
    {
        "db.drop_table",
        "db.drop_schema",
        "db.drop_owned",
        "db.drop_sequence",
        "db.truncate",
        "db.delete_all_rows",
        "db.update_all_rows",
        "db.merge_delete",
        "db.alter_drop",
        "db.schema_data_loss",
        "db.delete_keys",
    }
)
"""Inside a database (a table, schema, key): the database is the command's connection. So is
any other operation starting with one of :data:`_INSIDE_PREFIXES`."""
_INSIDE_PREFIXES = ("db.drop", "db.truncate", "db.delete")
UNSURE_DATABASE_OPERATIONS = frozenset(
    {
        "db.unparsed",
        "db.dynamic_sql",
        "db.eval",
        "db.script_flush",
        "db.native_code",
        "db.shell_escape",
    }
)
"""SQL (or a database's script) Interlock could not read: it may drop any database."""
_WHOLE_SERVER = frozenset({"pg_dropcluster"})
"""Commands that destroy every database of a server: the finding's targets are not databases."""


@dataclass(frozen=True)
class SnapshotOutcome:
    """What the vault did before a release: the sources asked, the snapshots, or why not."""

    sources: tuple[str, ...] = ()
    snapshots: tuple[dict[str, Any], ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def ids(self) -> str:
        return ", ".join(f"{s['source']} {str(s['snapshot'])[:12]}" for s in self.snapshots)


# --- targets ------------------------------------------------------------------------------


def targets_of(action: Action, decision: Decision) -> list[str]:
    """The ``protects`` strings of what ``action`` would destroy (see the module docstring)."""
    found: dict[str, None] = {}
    for finding in decision.findings:
        if finding.verdict is not Verdict.ALLOW and finding.rule.endswith("railway.volume_delete"):
            found.update((f"railway:volume:{t}", None) for t in finding.targets)
    command = action.command if isinstance(action, ShellAction) else None
    for destroyed in databases_destroyed(decision.findings, command):
        name = destroyed.database
        found[f"postgres:{name}" if name is not None else UNKNOWN_DATABASE] = None
    return list(found)


@dataclass(frozen=True)
class Destroyed:
    """A database an action destroys, or destroys data in."""

    database: str | None
    """Its name (as the SQL or the command names it); None: Interlock cannot name it."""
    holding: tuple[str, ...] | None = None
    """None: the database itself is destroyed (or Interlock cannot tell what is); else what in
    it is destroyed, as the finding names it (tables, rows, keys; possibly nothing)."""


def databases_destroyed(
    findings: Iterable[Finding | Mapping[str, Any]], command: str | None
) -> list[Destroyed]:
    """The databases destroyed by an action with these findings (:class:`Finding`, or the
    card's stored ``to_json`` of them); ``command``: the shell command, None for other actions.

    A dropped database is the one the finding names: pglast's ``DropdbStmt`` name for
    ``DROP DATABASE [IF EXISTS] "App" [WITH (FORCE)]`` however many statements or however the
    SQL reached the client (``-c``, a heredoc, a pipe), the ``dropdb`` catalog rule's argument
    after its options. Tables, rows or keys are in the database the client connects to
    (:func:`databases_named`). Findings with verdict allow destroy nothing. Once per database
    and finding, in the findings' order."""
    out: dict[tuple[str | None, tuple[str, ...] | None], Destroyed] = {}
    connected: list[str | None] | None = None
    for finding in findings:
        operation, targets, verdict, evidence = _read(finding)
        if verdict == Verdict.ALLOW.value:
            continue
        found: list[Destroyed] = []
        if operation in DATABASE_OPERATIONS:
            names = [_named(t) for t in targets]
            if _command_word(evidence) in _WHOLE_SERVER or not names:
                names = [None]
            found = [Destroyed(n) for n in names]
        elif operation in TABLE_OPERATIONS or operation.startswith(_INSIDE_PREFIXES):
            if connected is None:
                connected = databases_named(ShellAction(command=command)) if command else []
            found = [Destroyed(n, tuple(targets)) for n in connected or [None]]
        elif operation in UNSURE_DATABASE_OPERATIONS:
            found = [Destroyed(None)]
        for item in found:
            out.setdefault((item.database, item.holding), item)
    return list(out.values())


def _read(finding: Finding | Mapping[str, Any]) -> tuple[str, list[str], str, str]:
    if isinstance(finding, Finding):
        targets = list(finding.targets)
        return finding.operation, targets, finding.verdict.value, finding.evidence
    targets = [str(t) for t in finding.get("targets") or []]
    return (
        str(finding.get("operation", "")),
        targets,
        str(finding.get("verdict") or ""),
        str(finding.get("evidence") or ""),
    )


def _named(target: str) -> str | None:
    """A finding's target as a database's name; None when the command computes it (the
    analyzers write ``…`` for a variable's value) or it is empty."""
    name = target.strip()
    if not name or any(c in name for c in ("…", "$", "`")):
        return None
    return name


def _command_word(evidence: str) -> str:
    words = evidence.split(maxsplit=1)
    return os.path.basename(words[0]) if words else ""


def databases_named(action: Action) -> list[str | None]:
    """The PostgreSQL databases a shell command's clients connect to (None: cannot tell)."""
    if not isinstance(action, ShellAction):
        return []
    try:
        lexer = shlex.shlex(action.command, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return [None]
    out: list[str | None] = []
    command: list[str] = []
    for word in [*words, ";"]:
        if word and set(word) <= set(";&|()<>"):
            if command:
                out.extend(_database_of(command))
            command = []
        else:
            command.append(word)
    return out


def _database_of(words: list[str]) -> list[str | None]:
    from interlock.analyzers import sql_clients

    assigned: dict[str, str] = {}
    while words and "=" in words[0] and not words[0].startswith("-"):
        name, _, value = words.pop(0).partition("=")
        assigned[name] = value
    for index, word in enumerate(words):
        if os.path.basename(word) in _POSTGRES_CLIENTS:
            args = tuple(words[index + 1 :])
            break
    else:
        return []
    parsed = sql_clients.parse(sql_clients.SPECS["psql"], args)
    named = parsed.url or (parsed.positionals[0] if parsed.positionals else None)
    named = named or assigned.get("DATABASE_URL") or assigned.get("PGDATABASE")
    return [_dbname(named)]


def _dbname(text: str | None) -> str | None:
    if not text or "$" in text or "`" in text:
        return None
    if "://" not in text and "=" not in text:
        return text
    from psycopg.conninfo import conninfo_to_dict

    try:
        dbname = conninfo_to_dict(text).get("dbname")
    except Exception:  # an unreadable URL names no database we can trust
        return None
    return str(dbname) if dbname else None


def protecting(settings: VaultSettings, targets: Iterable[str]) -> list[SourceSettings]:
    """The sources protecting any of ``targets``; an unnamed database: every PostgreSQL one."""
    chosen: dict[str, SourceSettings] = {}
    for target in targets:
        if target == UNKNOWN_DATABASE:
            hits = [
                s
                for s in settings.sources.values()
                if any(p.lower().startswith("postgres:") for p in s.protects)
            ]
        else:
            hits = settings.protecting(target)
        chosen.update((s.name, s) for s in hits)
    return list(chosen.values())


# --- the vault's settings, as the server reads them ----------------------------------------

_cache: dict[str, tuple[float, VaultSettings | InterlockError]] = {}


def vault_settings(config: str | None) -> VaultSettings:
    """``[vault]`` of the server's interlock.toml, re-read when the file changes."""
    from interlock.vault import settings as parser

    if not config:
        return VaultSettings()
    try:
        stamp = Path(config).stat().st_mtime
    except OSError:
        return VaultSettings()
    cached = _cache.get(config)
    if cached is None or cached[0] != stamp:
        loaded: VaultSettings | InterlockError
        try:
            loaded = parser.load(Path(config))
        except InterlockError as exc:  # a broken [vault] must hold actions, not let them by
            loaded = exc
        cached = _cache[config] = (stamp, loaded)
    if isinstance(cached[1], InterlockError):
        raise cached[1]
    return cached[1]


def _guards_anything(settings: VaultSettings) -> bool:
    return any(s.protects for s in settings.sources.values())


# --- asking the snapshotter ------------------------------------------------------------------


async def snapshot_before(
    settings: VaultSettings,
    sources: Sequence[SourceSettings],
    request_id: str,
    reason: str,
    *,
    timeout: float | None = None,
) -> SnapshotOutcome:
    """A backup of every source in ``sources``, taken now; the first failure is the answer."""
    from interlock.vault.snapshotter import TOKEN_ENV, trigger_token

    names = tuple(s.name for s in sources)
    if not sources:
        return SnapshotOutcome()
    if not settings.snapshotter:
        return SnapshotOutcome(names, (), "no snapshotter is configured ([vault] snapshotter)")
    try:
        token = trigger_token()
    except InterlockError as exc:
        return SnapshotOutcome(names, (), str(exc))
    if token is None:
        return SnapshotOutcome(names, (), f"the server has no trigger token ({TOKEN_ENV})")
    wait = timeout if timeout is not None else _timeout()
    url = settings.snapshotter.rstrip("/") + "/v1/snapshots"
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(wait, connect=10.0), trust_env=False
    ) as client:

        async def one(source: SourceSettings) -> dict[str, Any]:
            body = {"source": source.name, "reason": reason[:500], "request_id": request_id}
            try:
                answer = await client.post(
                    url, json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.TimeoutException:
                raise _Failed(
                    source.name, f"no answer from the snapshotter in {wait:g} s"
                ) from None
            except httpx.HTTPError as exc:
                raise _Failed(
                    source.name,
                    f"the snapshotter at {settings.snapshotter} is unreachable "
                    f"({type(exc).__name__})",
                ) from None
            if answer.status_code != 201:
                raise _Failed(source.name, _error_of(answer))
            taken: dict[str, Any] = answer.json()
            return {"source": source.name, **{k: taken.get(k) for k in _KEPT}}

        try:
            taken = await asyncio.gather(*(one(s) for s in sources))
        except _Failed as failed:
            return SnapshotOutcome(
                names, (), f"pre-destroy snapshot of {failed.source} failed: {failed}"
            )
    return SnapshotOutcome(names, tuple(taken))


_KEPT = ("snapshot", "finished", "size", "seconds", "shared")


class _Failed(Exception):
    def __init__(self, source: str, message: str) -> None:
        super().__init__(mask(message)[:500])
        self.source = source


def _error_of(answer: httpx.Response) -> str:
    try:
        message = answer.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = answer.text[:200]
    return f"the snapshotter answered {answer.status_code}: {message}"


def _timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        value = DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


# --- the release --------------------------------------------------------------------------


HOOK_WAIT = 2.0
"""Seconds a hook's submission waits for a snapshot: the hook gives up on an exchange after 3 s
(hooks/approvals.py), and an approval consumed after it gave up would be used for nothing."""
FRESH = 600.0
"""Seconds a finished snapshot nobody used yet (its hook had given up) still counts."""


@dataclass
class _Run:
    """One request's snapshot, running as a task of its own: a caller that stops waiting (a
    hook's deadline, a client gone) neither cancels it nor loses its result."""

    task: asyncio.Task[SnapshotOutcome]
    began: float
    finished: float | None = None


_runs: dict[tuple[int, str], _Run] = {}


async def release(
    config: str | None,
    service: ApprovalService,
    action: Action,
    *,
    reason: str = "",
    requester: str | None = None,
    wait: float | None = None,
) -> tuple[Outcome, SnapshotOutcome]:
    """``service.submit``, with a pre-destroy snapshot before an approval is consumed.

    ``config`` is the server's interlock.toml (its ``[vault]``). ``wait``: seconds to wait for
    the snapshot (None: until it ends; the gateway holds the agent's request). A snapshot still
    running then goes on by itself, and the answer is ``denied`` with "run the same command
    again": the next attempt uses it. Returns the submission's outcome (``denied`` with the
    reason when the snapshot failed or is not done; the approval then stays unused) and what
    the vault did.
    """

    def submit() -> Outcome:
        return service.submit(action, reason=reason, requester=requester)

    try:
        settings = vault_settings(config)
    except InterlockError as exc:
        settings, broken = VaultSettings(), str(exc)
    else:
        broken = ""
    if not broken and not _guards_anything(settings):
        return await run_in_threadpool(submit), SnapshotOutcome()
    waiting = await run_in_threadpool(service.approved_waiting, action)
    if waiting is None:
        return await run_in_threadpool(submit), SnapshotOutcome()
    request_id, decision = waiting
    targets = targets_of(action, decision)
    actor = action.actor.agent or "agent"
    if broken and targets:
        error = f"the [vault] settings are unreadable: {broken}"
        done: SnapshotOutcome | None = SnapshotOutcome((), (), error)
        summary = f"approved action {request_id} held: {error}"
        alert = {"summary": summary, "targets": targets, "sources": []}
        await run_in_threadpool(service.note, request_id, FAILED, actor, alert)
    else:
        sources = protecting(settings, targets)
        if not sources:
            return await run_in_threadpool(submit), SnapshotOutcome()
        done = await _snapshot(service, settings, sources, request_id, targets, actor, wait)
    if done is None:
        names = ", ".join(s.name for s in sources)
        message = (
            f"the vault is taking a pre-destroy snapshot of {names}; the action did not run "
            "yet. The approval is kept: run the same command again shortly, it passes once "
            "the snapshot is in the vault"
        )
        return Outcome("denied", request_id, message), SnapshotOutcome(
            tuple(s.name for s in sources), (), "the pre-destroy snapshot is still running"
        )
    if not done.ok:
        message = (
            f"{done.error}; the action did not run. The approval is kept: the same action "
            "passes once the vault works"
        )
        return Outcome("denied", request_id, message), done
    outcome = await run_in_threadpool(submit)
    if outcome.state == "approved":
        outcome = Outcome(
            outcome.state,
            outcome.request_id,
            f"{outcome.message}; vault snapshot before it: {done.ids()}",
            outcome.approvers,
        )
    return outcome, done


async def _snapshot(
    service: ApprovalService,
    settings: VaultSettings,
    sources: list[SourceSettings],
    request_id: str,
    targets: list[str],
    actor: str,
    wait: float | None,
) -> SnapshotOutcome | None:
    """This request's snapshot: one already taken and unused (fresh), the one running, or a
    new one. None: still running after ``wait`` seconds. A result is handed out once."""
    now = time.monotonic()
    for key, old in list(_runs.items()):  # results nobody came back for
        if old.finished is not None and now - old.finished > FRESH:
            _runs.pop(key, None)
    key = (id(asyncio.get_running_loop()), request_id)
    run = _runs.get(key)
    if run is not None and run.task.done() and _failed(run.task):
        run = None  # a failure was answered and paged when it happened: try again now
    if run is None:
        task = asyncio.create_task(_take(service, settings, sources, request_id, targets, actor))
        run = _runs[key] = _Run(task, now)

        def finished(_: object, run: _Run = run) -> None:
            run.finished = time.monotonic()

        task.add_done_callback(finished)
    done, _ = await asyncio.wait({run.task}, timeout=wait)
    if not done:
        return None
    if _runs.get(key) is run:
        _runs.pop(key)
    return run.task.result()


def _failed(task: asyncio.Task[SnapshotOutcome]) -> bool:
    return task.cancelled() or task.exception() is not None or not task.result().ok


async def _take(
    service: ApprovalService,
    settings: VaultSettings,
    sources: list[SourceSettings],
    request_id: str,
    targets: list[str],
    actor: str,
) -> SnapshotOutcome:
    """Ask the snapshotter, then record the outcome on the request (audit log, card, page)."""
    began = time.monotonic()
    why = f"before an approved action destroys {', '.join(targets)}"
    done = await snapshot_before(settings, sources, request_id, why)
    if done.ok:
        detail: dict[str, Any] = {
            "targets": targets,
            "snapshots": list(done.snapshots),
            "seconds": round(time.monotonic() - began, 3),
        }
        await run_in_threadpool(service.note, request_id, SNAPSHOT, "vault", detail)
    else:
        summary = f"approved action {request_id} held: {done.error}"
        alert = {"summary": summary, "targets": targets, "sources": list(done.sources)}
        await run_in_threadpool(service.note, request_id, FAILED, actor, alert)
    return done
