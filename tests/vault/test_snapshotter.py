"""`interlock vault snapshotter`: a real server on 127.0.0.1, a real vault, real sources."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from interlock.cli import main
from interlock.server import db
from interlock.vault import VaultError, open_local
from interlock.vault.report import Reporter
from interlock.vault.repository import Snapshot
from interlock.vault.settings import SourceSettings
from interlock.vault.snapshotter import FILE_ENV, TOKEN_ENV, run_backup, trigger_token
from interlock.vault.sources.postgres import restore_postgres
from tests.vault import snapshotters
from tests.vault.test_postgres import Databases


def _sqlite(path: Path, rows: int = 3) -> Path:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
        db.executemany("INSERT INTO orders (total) VALUES (?)", [(i * 1.5,) for i in range(rows)])
        db.commit()
    return path


def _ask(url: str, token: str | None, **body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(f"{url}/v1/snapshots", json=body, headers=headers, timeout=60)


def test_a_postgres_snapshot_is_in_the_vault_and_restores(
    tmp_path: Path, databases: Databases
) -> None:
    source = databases.create()
    with psycopg.connect(source, autocommit=True) as db:
        db.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text)")
        db.execute("INSERT INTO customers (name) SELECT 'c' || i FROM generate_series(1, 300) i")
    vault = tmp_path / "vault"
    settings = snapshotters.settings_for(vault, {"app": {"postgres": source}})
    token = snapshotters.new_token()
    lines: list[str] = []
    running = snapshotters.serve(settings, token, lines=lines)
    try:
        answer = _ask(
            running.url, token, source="app", reason="DROP TABLE customers", request_id="req_1"
        )
    finally:
        running.stop()
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["source"] == "app" and body["size"] > 0 and body["shared"] is False
    repository = open_local(vault)
    [snapshot] = repository.snapshots()
    assert snapshot.id == body["snapshot"]
    assert snapshot.manifest.finished == body["finished"]
    assert snapshot.manifest.tables == {"public.customers": 300}
    restored = databases.name()
    restore_postgres(repository, snapshot, snapshotters.PG_SERVER + restored, force=False)
    with psycopg.connect(snapshotters.PG_SERVER + restored) as db:
        assert db.execute("SELECT count(*) FROM customers").fetchone() == (300,)
    assert any("req_1" in line and snapshot.id[:12] in line for line in lines)
    assert not any(token in line for line in lines)


def test_a_wrong_or_missing_token_is_401_and_nothing_is_taken(tmp_path: Path) -> None:
    settings = snapshotters.settings_for(
        tmp_path / "vault", {"app": {"sqlite": str(_sqlite(tmp_path / "app.db"))}}
    )
    token = snapshotters.new_token()
    running = snapshotters.serve(settings, token)
    try:
        wrong = _ask(running.url, snapshotters.new_token(), source="app")
        missing = _ask(running.url, None, source="app")
        basic = httpx.post(
            f"{running.url}/v1/snapshots", json={"source": "app"}, auth=("x", token), timeout=10
        )
        unknown = _ask(running.url, token, source="billing")
        malformed = httpx.post(
            f"{running.url}/v1/snapshots",
            content=b"[1]",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    finally:
        running.stop()
    for answer in (wrong, missing, basic):
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"]["code"] == "unauthenticated"
    assert unknown.status_code == 404 and "billing" in unknown.json()["error"]["message"]
    assert malformed.status_code == 400
    assert not (tmp_path / "vault").exists()  # nothing was even opened


def test_a_failed_backup_is_502_with_the_reason_and_lists_nothing(
    tmp_path: Path,
) -> None:
    vault = tmp_path / "vault"
    settings = snapshotters.settings_for(
        vault, {"app": {"postgres": "postgresql://postgres:hunter2-secret@127.0.0.1:1/app"}}
    )
    token = snapshotters.new_token()
    lines: list[str] = []
    running = snapshotters.serve(settings, token, lines=lines)
    try:
        answer = _ask(running.url, token, source="app", reason="volumeDelete")
    finally:
        running.stop()
    assert answer.status_code == 502
    message = answer.json()["error"]["message"]
    assert "cannot connect to PostgreSQL database app" in message
    assert "hunter2" not in answer.text and not any("hunter2" in line for line in lines)
    assert open_local(vault).snapshots() == []


def test_each_snapshot_or_its_error_is_reported_to_the_server(tmp_path: Path) -> None:
    """The source's row on the dashboard (vault/report.py): the newest backup, or the error;
    a failure raises no second alert (the server pages for the held action itself)."""
    good = _sqlite(tmp_path / "app.db")
    settings = snapshotters.settings_for(
        tmp_path / "vault",
        {
            "app": {"sqlite": str(good), "rpo": "1h"},
            "gone": {"sqlite": str(tmp_path / "missing.db")},
        },
    )
    token = snapshotters.new_token()
    url = db.sqlite_url(tmp_path / "server")
    with Reporter(url) as reporter:
        running = snapshotters.serve(settings, token, report=reporter)
        try:
            ok = _ask(running.url, token, source="app")
            failed = _ask(running.url, token, source="gone")
        finally:
            running.stop()
    assert ok.status_code == 201 and failed.status_code == 502
    engine = db.connect(url)
    try:
        with engine.connect() as conn:
            rows = {r.source: r for r in conn.execute(sa.select(db.vault_sources))}
            kinds = [r.kind for r in conn.execute(sa.select(db.events))]
    finally:
        engine.dispose()
    assert rows["app"].newest_snapshot == ok.json()["snapshot"]
    assert rows["app"].target_rpo_seconds == 3600
    assert rows["gone"].newest_snapshot is None
    assert failed.json()["error"]["message"] in rows["gone"].last_backup_error
    assert "vault.backup_failed" not in kinds


def test_one_backup_at_a_time_per_source_each_begun_after_its_request(tmp_path: Path) -> None:
    """Six requests at once: backups never overlap, and every answer is a backup that began
    after its request arrived (shared only when that holds)."""
    database = _sqlite(tmp_path / "app.db", rows=50)
    settings = snapshotters.settings_for(tmp_path / "vault", {"app": {"sqlite": str(database)}})
    token = snapshotters.new_token()
    running_now = 0
    most = 0
    started: dict[str, float] = {}
    guard = threading.Lock()

    def slow(location: str, source: SourceSettings) -> Snapshot:
        nonlocal running_now, most
        with guard:
            running_now += 1
            most = max(most, running_now)
        began = time.time()
        try:
            time.sleep(0.3)
            snapshot = run_backup(location, source)
        finally:
            with guard:
                running_now -= 1
        started[snapshot.id] = began
        return snapshot

    running = snapshotters.serve(settings, token, backup=slow)
    try:

        def one(_: int) -> tuple[float, httpx.Response]:
            sent = time.time()
            return sent, _ask(running.url, token, source="app")

        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(one, range(6)))
    finally:
        running.stop()
    assert most == 1
    for sent, answer in results:
        assert answer.status_code == 201, answer.text
        assert started[answer.json()["snapshot"]] >= sent - 0.05
    taken = {answer.json()["snapshot"] for _, answer in results}
    assert len(open_local(tmp_path / "vault").snapshots()) == len(taken)
    assert len(taken) < 6  # some waited and shared a backup that began after they arrived


def test_the_trigger_token_comes_from_the_environment_or_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(FILE_ENV, raising=False)
    assert trigger_token() is None
    monkeypatch.setenv(TOKEN_ENV, "short")
    with pytest.raises(VaultError, match="shorter than"):
        trigger_token()
    monkeypatch.delenv(TOKEN_ENV)
    token = snapshotters.new_token()
    file = tmp_path / "trigger"
    file.write_text(token + "\n")
    file.chmod(0o644)
    monkeypatch.setenv(FILE_ENV, str(file))
    with pytest.raises(VaultError, match="open to other users") as refused:
        trigger_token()
    assert token not in str(refused.value)
    file.chmod(0o600)
    assert trigger_token() == token


def test_the_command_serves_from_interlock_toml(tmp_path: Path) -> None:
    """The real command in its own process: [vault] from --config, the token from a file."""
    database = _sqlite(tmp_path / "app.db")
    config = tmp_path / "interlock.toml"
    config.write_text(
        f'[vault]\nlocation = "vault"\n\n[vault.sources.app]\nsqlite = "{database}"\n'
        'protects = ["postgres:app"]\n'
    )
    token = snapshotters.new_token()
    token_file = tmp_path / "trigger"
    token_file.write_text(token)
    token_file.chmod(0o600)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERLOCK_")}
    env[FILE_ENV] = str(token_file)
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("interlock")), "vault", "snapshotter", "--listen",
         f"127.0.0.1:{port}", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the snapshotter did not start"
                time.sleep(0.1)
        answer = _ask(url, token, source="app", reason="test")
        assert answer.status_code == 201, answer.text
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    [snapshot] = open_local(tmp_path / "vault").snapshots()
    assert snapshot.id == answer.json()["snapshot"]
    assert token not in output


def test_the_command_refuses_to_start_without_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(FILE_ENV, raising=False)
    config = tmp_path / "interlock.toml"
    config.write_text(f'[vault]\nlocation = "v"\n[vault.sources.app]\nsqlite = "{tmp_path}/a.db"\n')
    assert main(["vault", "snapshotter", "--config", str(config)]) == 1
    assert "no trigger token" in capsys.readouterr().err
