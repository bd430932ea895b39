"""`interlock vault schedule`: backs up what is due to its RPO, drills, reports to the server.

Real PostgreSQL and SQLite sources, a real folder vault, and the server's own database (SQLite
in the project's .interlock/, as `interlock serve` would use) read back after each run.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from interlock.cli import main
from interlock.server import db
from interlock.vault import open_local, settings
from interlock.vault.report import Reporter
from interlock.vault.schedule import (
    Scheduler,
    SourceState,
    backoff,
    backup_due,
    drill_due,
    next_wake,
)
from tests.vault.test_postgres import SERVER, Databases, _fill

Run = Callable[..., tuple[int, str, str]]
PASSWORD = "hunter2-not-for-logs"


@pytest.fixture(autouse=True)
def _project_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("INTERLOCK_CONFIG", "INTERLOCK_HOME", "INTERLOCK_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def call(*args: str) -> tuple[int, str, str]:
        code = main(["vault", "schedule", *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def _sqlite_source(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.executemany("INSERT INTO notes (body) VALUES (?)", [(f"n{i}",) for i in range(50)])
        conn.commit()
    return path


def _config(tmp_path: Path, sources: str, *, server: str = "") -> Path:
    config = tmp_path / "interlock.toml"
    config.write_text(
        f'{server}[vault]\nlocation = "vault"\ndrill_postgres = "{SERVER}postgres"\n{sources}'
    )
    return config


def _server_rows(tmp_path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    engine = db.connect(db.sqlite_url(tmp_path / ".interlock"))
    try:
        with engine.connect() as conn:
            rows = {r.source: r._asdict() for r in conn.execute(sa.select(db.vault_sources))}
            events = [
                {**r._asdict(), "detail": json.loads(r.detail)}
                for r in conn.execute(sa.select(db.events).order_by(db.events.c.seq))
            ]
    finally:
        engine.dispose()
    return rows, events


def _snapshots(tmp_path: Path) -> list[str]:
    return [s.manifest.source for s in open_local(tmp_path / "vault").snapshots()]


def test_once_backs_up_and_drills_what_is_due_then_skips_fresh_sources(
    tmp_path: Path, databases: Databases, run: Run
) -> None:
    pg = databases.create()
    _fill(pg)
    _sqlite_source(tmp_path / "notes.db")
    _config(
        tmp_path,
        f'[vault.sources.app]\npostgres = "{pg}"\nrpo = "1h"\n'
        'assertions = ["SELECT count(*) = 500 FROM users"]\n'
        '[vault.sources.notes]\nsqlite = "notes.db"\nrpo = "2h"\n',
    )
    began = time.time()
    code, out, err = run("--once")
    assert code == 0, err
    assert sorted(_snapshots(tmp_path)) == ["app", "notes"]
    assert "drill app" in out and "drill notes" in out
    rows, events = _server_rows(tmp_path)
    assert set(rows) == {"app", "notes"}
    app = rows["app"]
    assert app["kind"] == "postgres" and app["target_rpo_seconds"] == 3600
    assert began - 1 <= app["newest_backup_at"] <= time.time()
    assert app["newest_backup_size"] > 0 and app["last_backup_error"] == ""
    assert app["last_drill_ok"] is True and app["last_verified_snapshot"] == app["newest_snapshot"]
    assert app["last_rto_seconds"] > 0 and app["last_rpo_seconds"] >= 0
    assert rows["notes"]["target_rpo_seconds"] == 7200 and rows["notes"]["last_drill_ok"]
    assert events == []  # nothing failed: nothing to alert

    # A second pass straight after: both are fresh (younger than half their RPO), drilled today.
    code, out, err = run("--once")
    assert code == 0, err
    assert sorted(_snapshots(tmp_path)) == ["app", "notes"]
    assert "backup app: fresh" in out and "backup notes: fresh" in out
    assert "drill" not in out
    again, _ = _server_rows(tmp_path)
    assert again["app"]["newest_snapshot"] == app["newest_snapshot"]


def test_a_failing_source_exits_1_alerts_and_the_others_are_still_backed_up(
    tmp_path: Path, databases: Databases, run: Run
) -> None:
    _sqlite_source(tmp_path / "notes.db")
    missing = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/ilv_test_no_such_db"
    _config(
        tmp_path,
        f'[vault.sources.broken]\npostgres = "{missing}"\nrpo = "1h"\n'
        '[vault.sources.notes]\nsqlite = "notes.db"\n',
    )
    code, out, err = run("--once")
    assert code == 1
    assert "backup broken FAILED" in err and "ilv_test_no_such_db" in err
    assert _snapshots(tmp_path) == ["notes"]
    rows, events = _server_rows(tmp_path)
    assert rows["broken"]["newest_backup_at"] is None
    assert "ilv_test_no_such_db" in rows["broken"]["last_backup_error"]
    assert rows["notes"]["newest_snapshot"] and rows["notes"]["last_drill_ok"] is True
    assert [e["kind"] for e in events] == ["vault.backup_failed"]
    alert = events[0]
    assert alert["request_id"] is None and alert["detail"]["source"] == "broken"
    assert alert["detail"]["summary"].startswith("vault: backup of broken (postgres) failed")
    assert "\n" not in alert["detail"]["summary"]
    everything = out + err + json.dumps(rows, default=str) + json.dumps(events)
    audit = (tmp_path / ".interlock" / "audit.jsonl").read_text()
    assert "vault.backup_failed" in audit
    assert PASSWORD not in everything + audit


def test_a_flipped_byte_fails_the_next_drill_with_an_alert(
    tmp_path: Path, databases: Databases, run: Run
) -> None:
    pg = databases.create()
    _fill(pg)
    _config(tmp_path, f'[vault.sources.app]\npostgres = "{pg}"\nrpo = "1d"\ndrill_every = "1s"\n')
    assert run("--once")[0] == 0
    for obj in (tmp_path / "vault" / "objects").glob("*/*"):
        obj.chmod(0o600)
        data = bytearray(obj.read_bytes())
        data[len(data) // 2] ^= 0x01
        obj.write_bytes(bytes(data))
        break
    time.sleep(1.1)  # drill_every = 1 s: the drill is due again, the backup is not
    code, out, err = run("--once")
    assert code == 1
    assert "backup app: fresh" in out and "drill app" in err and "FAILED" in err
    rows, events = _server_rows(tmp_path)
    assert rows["app"]["last_drill_ok"] is False and "altered" in rows["app"]["last_drill_error"]
    assert rows["app"]["last_verified_at"] is not None  # the first drill passed
    assert [e["kind"] for e in events] == ["vault.drill_failed"]
    assert "altered" in events[0]["detail"]["error"]


def test_an_unreachable_server_database_warns_once_and_the_backup_still_counts(
    tmp_path: Path, run: Run
) -> None:
    _sqlite_source(tmp_path / "notes.db")
    server = f'[server]\ndatabase_url = "postgresql://postgres:{PASSWORD}@127.0.0.1:1/nope"\n'
    _config(tmp_path, '[vault.sources.notes]\nsqlite = "notes.db"\n', server=server)
    code, out, err = run("--once")
    assert code == 0, err
    assert _snapshots(tmp_path) == ["notes"]
    assert err.count("warning: cannot record the vault's status") == 1
    assert PASSWORD not in out + err


def test_no_location_and_no_sources_are_clear_errors(tmp_path: Path, run: Run) -> None:
    (tmp_path / "interlock.toml").write_text('[vault.sources.x]\nsqlite = "x.db"\n')
    code, _, err = run("--once")
    assert code != 0 and "sets no [vault] location" in err
    (tmp_path / "interlock.toml").write_text('[vault]\nlocation = "vault"\n')
    code, _, err = run("--once")
    assert code != 0 and "names no [vault.sources" in err


# --- the pure part: what is due when ------------------------------------------------------------


def _source(rpo: float = 3600, drill_every: float = 86400) -> settings.SourceSettings:
    return settings.SourceSettings("app", "sqlite", "/x.db", rpo, 86400 * 30, drill_every)


def test_backup_is_due_at_half_the_rpo_and_failures_back_off() -> None:
    source = _source(rpo=3600)
    assert backup_due(source, SourceState(), 1000.0)
    state = SourceState(newest_backup=1000.0)
    assert not backup_due(source, state, 1000.0 + 1799)
    assert backup_due(source, state, 1000.0 + 1800)
    failing = SourceState(newest_backup=0.0, backup_failures=2, retry_backup_at=5000.0)
    assert not backup_due(source, failing, 4999.0) and backup_due(source, failing, 5000.0)
    assert [backoff(n, 3600) for n in (1, 2, 3, 5, 9)] == [30, 60, 120, 480, 900]
    assert backoff(9, 600) == 150  # never more than a quarter of the RPO
    assert backoff(9, 60) == 30  # and never less than the first retry


def test_drill_waits_for_a_backup_and_for_drill_every() -> None:
    source = _source(drill_every=3600)
    assert not drill_due(source, SourceState(), 0.0)
    assert drill_due(source, SourceState(newest_backup=0.0), 10.0)
    assert not drill_due(source, SourceState(newest_backup=0.0, last_drill=10.0), 3609.0)
    assert drill_due(source, SourceState(newest_backup=0.0, last_drill=10.0), 3610.0)


def test_next_wake_is_the_earliest_due_job() -> None:
    source = _source(rpo=3600, drill_every=86400)
    fresh = SourceState(newest_backup=1000.0, last_drill=1000.0)
    assert next_wake([source], {"app": fresh}, 1000.0) == 1000.0 + 300  # the longest sleep
    assert next_wake([source], {"app": fresh}, 2700.0) == 2800.0  # half the RPO
    assert next_wake([source], {"app": SourceState()}, 5.0) == 5.0
    retry = SourceState(newest_backup=1000.0, last_drill=1000.0, backup_failures=1)
    retry.retry_backup_at = 1030.0
    assert next_wake([source], {"app": retry}, 1000.0) == 1030.0


def test_the_scheduler_reads_drills_logged_by_others(tmp_path: Path) -> None:
    """A manual `vault drill` counts: the drill log in the vault is read, so it is not re-run."""
    db_path = _sqlite_source(tmp_path / "notes.db")
    parsed = settings.parse(
        {"location": str(tmp_path / "vault"), "sources": {"notes": {"sqlite": str(db_path)}}}
    )
    clock = [time.time()]
    lines: list[str] = []
    first = Scheduler(
        parsed,
        str(tmp_path / "vault"),
        Reporter(None),
        clock=lambda: clock[0],
        echo=lambda t, e: lines.append(t),
    )
    assert [(o.job, o.ok) for o in first.run_once().outcomes] == [("backup", True), ("drill", True)]
    second = Scheduler(
        parsed,
        str(tmp_path / "vault"),
        Reporter(None),
        clock=lambda: clock[0],
        echo=lambda t, e: lines.append(t),
    )
    assert second.run_once().outcomes == []  # the backup is fresh, the drill logged
    clock[0] += 86400 + 1
    assert [o.job for o in second.run_once().outcomes] == ["backup", "drill"]


def test_manual_backup_and_drill_count_when_the_config_names_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sqlite_source(tmp_path / "notes.db")
    _sqlite_source(tmp_path / "other.db")
    _config(tmp_path, '[vault.sources.notes]\nsqlite = "notes.db"\nrpo = "6h"\n')
    vault = str(tmp_path / "vault")
    assert (
        main(["vault", "backup", "--sqlite", "notes.db", "--name", "notes", "--vault", vault]) == 0
    )
    assert (
        main(["vault", "backup", "--sqlite", "other.db", "--name", "other", "--vault", vault]) == 0
    )
    rows, _ = _server_rows(tmp_path)
    assert set(rows) == {"notes"}  # "other" is not a configured source: not reported
    assert rows["notes"]["target_rpo_seconds"] == 6 * 3600
    assert rows["notes"]["last_drill_at"] is None
    assert main(["vault", "drill", "--source", "notes", "--vault", vault]) == 0
    rows, events = _server_rows(tmp_path)
    assert rows["notes"]["last_drill_ok"] is True and rows["notes"]["last_verified_at"]
    assert events == []
    capsys.readouterr()


def test_a_run_of_failures_pages_on_the_first_then_hourly(tmp_path: Path) -> None:
    parsed = settings.parse(
        {"location": str(tmp_path / "vault"), "sources": {"gone": {"sqlite": "/no/such.db"}}}
    )
    clock = [time.time()]
    url = db.sqlite_url(tmp_path / "server")
    scheduler = Scheduler(
        parsed,
        str(tmp_path / "vault"),
        Reporter(url, clock=lambda: clock[0]),
        clock=lambda: clock[0],
        echo=lambda t, e: None,
    )
    tries = 0
    began = clock[0]
    while clock[0] - began < 3700:
        outcomes = scheduler.run_once().outcomes
        tries += len(outcomes)
        clock[0] = scheduler.states["gone"].retry_backup_at  # the next retry, at once
    assert tries >= 8  # 30 s, 1, 2, 4, 8, 15, 15 … min
    engine = db.connect(url)
    with engine.connect() as conn:
        kinds = [r.kind for r in conn.execute(sa.select(db.events.c.kind))]
        row = conn.execute(sa.select(db.vault_sources)).one()
    engine.dispose()
    assert kinds == ["vault.backup_failed", "vault.backup_failed"]  # first, and an hour on
    assert "/no/such.db" in row.last_backup_error


def test_the_loop_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    _sqlite_source(tmp_path / "notes.db")
    config = _config(tmp_path, '[vault.sources.notes]\nsqlite = "notes.db"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    env["PYTHONUNBUFFERED"] = "1"
    interlock = str(Path(sys.executable).with_name("interlock"))
    process = subprocess.Popen(
        [interlock, "vault", "schedule", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # the backup, then the drill
        second = process.stdout.readline()
        assert first.startswith("backup notes: snapshot") and second.startswith("drill notes")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "SIGTERM, stopping" in err
    assert _snapshots(tmp_path) == ["notes"]


def test_a_postgres_source_without_drill_postgres_fails_its_drill_clearly(
    tmp_path: Path, databases: Databases, run: Run
) -> None:
    pg = databases.create()
    _fill(pg)
    (tmp_path / "interlock.toml").write_text(
        f'[vault]\nlocation = "vault"\n[vault.sources.app]\npostgres = "{pg}"\n'
    )
    code, out, err = run("--once")
    assert code == 1 and "backup app: snapshot" in out
    assert "drill app" in err and "set [vault] drill_postgres" in err
    rows, events = _server_rows(tmp_path)
    assert rows["app"]["newest_snapshot"] and rows["app"]["last_drill_ok"] is False
    assert [e["kind"] for e in events] == ["vault.drill_failed"]


def test_a_config_the_server_would_not_read_is_a_warning_not_a_wrong_database(
    tmp_path: Path, run: Run
) -> None:
    _sqlite_source(tmp_path / "notes.db")
    config = _config(tmp_path, '[vault.sources.notes]\nsqlite = "notes.db"\n')
    other = config.rename(tmp_path / "vault-only.toml")
    code, _, err = run("--once", "--config", str(other))
    assert code == 0, err
    assert _snapshots(tmp_path) == ["notes"]
    assert err.count("warning: cannot record") == 1 and "INTERLOCK_CONFIG" in err
    assert not (tmp_path / ".interlock").exists()


def test_alert_writes_one_masked_line_for_other_vault_components(tmp_path: Path) -> None:
    """What `vault delete request` and the snapshotter call (vault/report.py ``alert``)."""
    url = db.sqlite_url(tmp_path / "server")
    with Reporter(url) as reporter:
        reporter.alert(
            "vault.deletion_requested",
            f"vault: deletion of abc requested\nby postgresql://u:{PASSWORD}@h/db",
            {"snapshot": "abc", "token": PASSWORD, "by": "alice"},
            actor="alice",
        )
    engine = db.connect(url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(db.events)).one()
    engine.dispose()
    detail = json.loads(row.detail)
    assert row.kind == "vault.deletion_requested" and row.actor == "alice"
    assert row.request_id is None
    assert detail["summary"] == "vault: deletion of abc requested (+1 more line(s))"
    assert detail["snapshot"] == "abc" and PASSWORD not in row.detail
