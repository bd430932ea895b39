"""An approved DROP/TRUNCATE/DELETE, retried through the real hook, waits for a vault snapshot.

The real hook process, the real approval server, a snapshotter on 127.0.0.1 with a vault folder,
and the protected PostgreSQL database itself; the SQL is run for real once the hook allows it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from interlock.actions import ShellAction, SqlAction
from interlock.config import Policy
from interlock.engine import decide
from interlock.server import backups, predestroy
from interlock.vault import Snapshot, open_local
from interlock.vault.settings import SourceSettings
from interlock.vault.snapshotter import Backup, run_backup
from interlock.vault.sources.postgres import restore_postgres
from tests.server.conftest import MakeServer, Served, make_server  # noqa: F401
from tests.test_hooks_approvals import allowed, approve, hook, pending_id, text_of
from tests.test_hooks_support import Result, Sandbox, box  # noqa: F401
from tests.vault import snapshotters
from tests.vault.snapshotters import Running
from tests.vault.test_postgres import Databases

AGENT = "claude-code"


class Setup:
    """The protected database, the vault, [vault] in the project's interlock.toml, the server."""

    def __init__(self, sandbox: Sandbox, make: MakeServer, databases: Databases, tmp: Path) -> None:
        self.box = sandbox
        self.url = databases.create()
        self.dbname = self.url.rsplit("/", 1)[1]
        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute("CREATE TABLE customers (id serial PRIMARY KEY, email text)")
            db.execute(
                "INSERT INTO customers (email) SELECT 'c' || i || '@x.test' "
                "FROM generate_series(1, 250) i"
            )
        self.folder = tmp / "vault"
        self.config = sandbox.project / "interlock.toml"
        self.writes = 0
        self.running: Running | None = None
        # One address for the whole test: editing interlock.toml changes the policy revision
        # an approval is bound to. The snapshotter is down until start().
        self.port = snapshotters.free_port()
        self.configure(f"http://127.0.0.1:{self.port}")
        self.served: Served = make(project_dir=sandbox.project)
        self.drop = f"psql {self.url} -c 'DROP TABLE customers'"

    def configure(self, snapshotter: str) -> None:
        self.config.write_text(
            f'[vault]\nlocation = "{self.folder}"\nsnapshotter = "{snapshotter}"\n\n'
            f'[vault.sources.app]\npostgres = "{self.url}"\n'
            f'protects = ["postgres:{self.dbname}"]\n'
        )
        self.writes += 1  # each rewrite gets a later time: the server re-reads on change
        stamp = time.time() + self.writes
        os.utime(self.config, (stamp, stamp))

    def start(self, token: str, backup: Backup = run_backup) -> None:
        settings = snapshotters.settings_for(self.folder, {"app": {"postgres": self.url}})
        self.running = snapshotters.serve(settings, token, port=self.port, backup=backup)

    def close(self) -> None:
        if self.running is not None:
            self.running.stop()

    def snapshots(self) -> list[Snapshot]:
        if not (self.folder / "config").exists():
            return []
        return list(open_local(self.folder).snapshots())

    def hook(self, command: str) -> Result:
        return hook(self.box, AGENT, command, INTERLOCK_SERVER=self.served.url)

    def kinds(self, request_id: str) -> list[str]:
        events = self.served.service.events_since(0)
        return [e["kind"] for e in events if e["request_id"] == request_id]


@pytest.fixture
def setup(
    box: Sandbox,  # noqa: F811
    make_server: MakeServer,  # noqa: F811
    databases: Databases,
    tmp_path: Path,
) -> Iterator[Setup]:
    made = Setup(box, make_server, databases, tmp_path)
    yield made
    made.close()


def test_the_approved_drop_runs_only_after_a_snapshot_that_brings_the_rows_back(
    setup: Setup, trigger: str, databases: Databases
) -> None:
    setup.start(trigger)
    request_id = pending_id(AGENT, setup.hook(setup.drop))
    approve(setup.served, request_id)
    assert setup.snapshots() == []

    retry = setup.hook(setup.drop)
    assert allowed(AGENT, retry), retry
    [snapshot] = open_local(setup.folder).snapshots()
    assert snapshot.manifest.tables == {"public.customers": 250}
    kinds = setup.kinds(request_id)
    assert kinds.index("predestroy_snapshot") < kinds.index("consumed")
    # The agent's command runs (as the agent would run it): the table is gone...
    subprocess.run(
        ["psql", setup.url, "-c", "DROP TABLE customers"], check=True, capture_output=True
    )
    # ...and the vault brings it back.
    restored = databases.name()
    restore_postgres(
        open_local(setup.folder), snapshot, snapshotters.PG_SERVER + restored, force=False
    )
    with psycopg.connect(snapshotters.PG_SERVER + restored) as db:
        assert db.execute("SELECT count(*) FROM customers").fetchone() == (250,)


def test_a_failed_snapshot_denies_the_retry_and_keeps_the_approval(
    setup: Setup, trigger: str
) -> None:
    request_id = pending_id(AGENT, setup.hook(setup.drop))
    approve(setup.served, request_id)

    held = setup.hook(setup.drop)  # the snapshotter is down
    assert held.code == 2, held
    said = text_of(held)
    assert "pre-destroy snapshot of app failed" in said and "did not run" in said
    assert "vault.predestroy_failed" in setup.kinds(request_id)
    assert setup.served.service.get(request_id)["consumed"] is False  # type: ignore[index]
    with psycopg.connect(setup.url) as db:  # nothing ran: the hook said no
        assert db.execute("SELECT count(*) FROM customers").fetchone() == (250,)

    setup.start(trigger)
    retry = setup.hook(setup.drop)
    assert allowed(AGENT, retry), retry
    assert len(setup.snapshots()) == 1
    assert setup.served.service.get(request_id)["consumed"] is True  # type: ignore[index]


def test_a_slow_snapshot_goes_on_after_the_hook_gives_up_and_the_next_retry_uses_it(
    setup: Setup, trigger: str
) -> None:
    """A hook waits 3 s for the server at most; a real dump takes longer. The snapshot runs on,
    the approval stays unused, and the next retry passes with that snapshot (not another)."""

    def slow(location: str, source: SourceSettings) -> Snapshot:
        time.sleep(4)
        return run_backup(location, source)

    setup.start(trigger, slow)
    request_id = pending_id(AGENT, setup.hook(setup.drop))
    approve(setup.served, request_id)
    began = time.monotonic()
    early = setup.hook(setup.drop)
    assert time.monotonic() - began < 4
    assert early.code == 2, early
    assert "taking a pre-destroy snapshot of app" in text_of(early)
    assert setup.served.service.get(request_id)["consumed"] is False  # type: ignore[index]
    deadline = time.monotonic() + 20
    while "predestroy_snapshot" not in setup.kinds(request_id):
        assert time.monotonic() < deadline, setup.kinds(request_id)
        time.sleep(0.1)
    retry = setup.hook(setup.drop)
    assert allowed(AGENT, retry), retry
    assert len(setup.snapshots()) == 1
    assert setup.kinds(request_id).count("predestroy_snapshot") == 1


def test_an_approved_drop_database_from_another_connection_snapshots_the_dropped_database(
    setup: Setup, trigger: str, databases: Databases
) -> None:
    """``psql -d postgres -c 'DROP DATABASE app'``: the connection is postgres, the database
    destroyed is app, and app's source is backed up before the approval is consumed."""
    setup.start(trigger)
    drop = f"psql -h 127.0.0.1 -U postgres -d postgres -c 'DROP DATABASE {setup.dbname}'"
    request_id = pending_id(AGENT, setup.hook(drop))
    approve(setup.served, request_id)

    retry = setup.hook(drop)
    assert allowed(AGENT, retry), retry
    [snapshot] = open_local(setup.folder).snapshots()
    assert snapshot.manifest.tables == {"public.customers": 250}
    kinds = setup.kinds(request_id)
    assert kinds.index("predestroy_snapshot") < kinds.index("consumed")
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c",
         f"DROP DATABASE {setup.dbname}"],
        check=True, capture_output=True,
    )  # fmt: skip
    restored = databases.name()
    restore_postgres(
        open_local(setup.folder), snapshot, snapshotters.PG_SERVER + restored, force=False
    )
    with psycopg.connect(snapshotters.PG_SERVER + restored) as db:
        assert db.execute("SELECT count(*) FROM customers").fetchone() == (250,)


# --- which targets an action destroys ------------------------------------------------------


def _targets(action: ShellAction | SqlAction) -> list[str]:
    return predestroy.targets_of(action, decide(action, Policy(project_root="/tmp", home="/root")))


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("psql postgresql://u@127.0.0.1:5432/app -c 'DROP TABLE users'", ["postgres:app"]),
        ("psql 'host=127.0.0.1 dbname=app' -c 'TRUNCATE users'", ["postgres:app"]),
        ("psql -h 127.0.0.1 -d app -c 'DELETE FROM users'", ["postgres:app"]),
        ("psql --dbname=app -c 'DROP TABLE users'", ["postgres:app"]),
        ("PGDATABASE=app psql -c 'DROP TABLE users'", ["postgres:app"]),
        ("cd /srv && psql app -c 'DROP TABLE users'", ["postgres:app"]),
        ('psql "$DATABASE_URL" -c "DROP TABLE users"', ["postgres:?"]),
        ("psql postgresql://127.0.0.1/app -c 'SELECT 1'", []),
    ],
)
def test_the_database_a_destructive_command_names(command: str, expected: list[str]) -> None:
    assert _targets(ShellAction(command=command, cwd="/tmp")) == expected


def test_sql_without_a_client_names_no_database_and_every_postgres_source_protects_it() -> None:
    targets = _targets(SqlAction(sql="DROP TABLE users", cwd="/tmp"))
    assert targets == ["postgres:?"]
    settings = snapshotters.settings_for(
        Path("/v"),
        {
            "app": {"postgres": "postgresql:///app", "protects": ["postgres:app"]},
            "files": {"folder": "/srv", "protects": ["railway:volume:v1"]},
        },
    )
    assert [s.name for s in predestroy.protecting(settings, targets)] == ["app"]


# A DROP DATABASE's target is the database dropped, not the connection; unsure: postgres:?.
DROPS = [
    ("psql -d postgres -c 'DROP DATABASE app'", ["postgres:app"]),
    ("psql postgresql://u@db.internal/postgres -c 'drop database app'", ["postgres:app"]),
    ("psql -c 'DROP DATABASE IF EXISTS app'", ["postgres:app"]),
    ("psql -d postgres -c 'DROP DATABASE app WITH (FORCE)'", ["postgres:app"]),
    ("psql -d postgres -c 'DROP DATABASE IF EXISTS App WITH (FORCE)'", ["postgres:app"]),
    ("""psql -d postgres -c 'DROP DATABASE "My App"'""", ["postgres:My App"]),
    (
        "psql -d postgres -c 'DROP DATABASE a; SELECT 1; DROP DATABASE b'",
        ["postgres:a", "postgres:b"],
    ),
    (
        "psql -d main -c 'DROP DATABASE app; DROP TABLE t'",
        ["postgres:app", "postgres:main"],
    ),
    ("dropdb app", ["postgres:app"]),
    ("dropdb -h db.internal -U u app", ["postgres:app"]),
    ("dropdb --if-exists app", ["postgres:app"]),
    ("dropdb -f --maintenance-db=postgres app", ["postgres:app"]),
    ("psql -d postgres <<'SQL'\nDROP DATABASE app;\nSQL", ["postgres:app"]),
    ("echo 'DROP DATABASE app' | psql -d postgres", ["postgres:app"]),
    ("psql -d postgres < drop.sql", ["postgres:?"]),
    ("psql -d postgres -f drop.sql", ["postgres:?"]),
    ('psql -d postgres -c "DROP DATABASE $NAME"', ["postgres:?"]),
    ("dropdb app_$ENV", ["postgres:?"]),
    ('dropdb "$DB"', ["postgres:?"]),
    ("pg_dropcluster 16 main --stop", ["postgres:?"]),
    ("psql -d app -c 'SELECT 1'", []),
]


@pytest.mark.parametrize(("command", "expected"), DROPS)
def test_a_dropped_database_is_the_target_whatever_the_client_connects_to(
    command: str, expected: list[str]
) -> None:
    assert _targets(ShellAction(command=command, cwd="/tmp")) == expected


def test_drop_database_sent_as_sql_names_the_database() -> None:
    assert _targets(SqlAction(sql='DROP DATABASE IF EXISTS "App" WITH (FORCE)', cwd="/tmp")) == [
        "postgres:App"
    ]
    assert _targets(SqlAction(sql="DROP DATABASE app; DROP TABLE t", cwd="/tmp")) == [
        "postgres:app",
        "postgres:?",
    ]


def test_the_dropped_database_is_protected_by_its_source_and_not_by_the_connections() -> None:
    settings = snapshotters.settings_for(
        Path("/v"),
        {
            "app": {"postgres": "postgresql:///app", "protects": ["postgres:app"]},
            "main": {"postgres": "postgresql:///postgres", "protects": ["postgres:postgres"]},
        },
    )
    targets = _targets(ShellAction(command="psql -d postgres -c 'DROP DATABASE APP'", cwd="/"))
    assert [s.name for s in predestroy.protecting(settings, targets)] == ["app"]
    unsure = _targets(ShellAction(command="dropdb $DB", cwd="/"))
    assert [s.name for s in predestroy.protecting(settings, unsure)] == ["app", "main"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        *DROPS,
        ("psql -d app -c 'DROP TABLE users'", ["postgres:app"]),
        ("psql -c 'TRUNCATE users'", ["postgres:?"]),
        ("PGDATABASE=app psql -c 'DELETE FROM users'", ["postgres:app"]),
    ],
)
def test_the_card_shows_the_databases_the_snapshots_protect(
    command: str, expected: list[str]
) -> None:
    """The card (backups.data_targets, from the stored card) and the pre-destroy snapshot read
    the same findings the same way: one name each, and "unsure" exactly when postgres:?."""
    action = ShellAction(command=command, cwd="/tmp")
    decision = decide(action, Policy(project_root="/tmp", home="/root"))
    card = {
        "kind": "shell",
        "detail": command,
        "findings": [f.to_json() for f in decision.findings],
    }
    shown, unsure = backups.data_targets(card)
    named = sorted(f"postgres:{t.label.removeprefix('database ')}" for t in shown if t.sure)
    assert named == sorted(t for t in expected if t != "postgres:?")
    assert unsure is ("postgres:?" in expected)
    assert sorted(predestroy.targets_of(action, decision)) == sorted(expected)


def test_allowed_findings_destroy_nothing_and_a_volume_is_not_a_database() -> None:
    findings: list[dict[str, object]] = [
        {"operation": "db.delete_rows", "targets": ["t"], "verdict": "allow"},
        {"operation": "db.drop_database", "targets": ["app"], "verdict": "allow"},
        {"operation": "cloud.delete_volume", "targets": ["v1"], "verdict": "ask"},
    ]
    assert predestroy.databases_destroyed(findings, "psql -d app") == []
    dropped = [{"operation": "db.drop_database", "targets": ["app", "app"], "verdict": "ask"}]
    assert predestroy.databases_destroyed(dropped, None) == [predestroy.Destroyed("app")]
