"""Restore drills through the CLI: real PostgreSQL and SQLite restores, a logged RTO and RPO."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from interlock.cli import main
from interlock.vault import Repository, VaultError
from tests.vault.test_postgres import SERVER, Databases, _fill

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INTERLOCK_CONFIG", raising=False)
    monkeypatch.delenv("INTERLOCK_VAULT_DRILL_PG", raising=False)
    vault = str(tmp_path / "vault")

    def call(*args: str) -> tuple[int, str, str]:
        code = main(["vault", *args, "--vault", vault])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def _drill_databases(databases: Databases) -> list[str]:
    rows = databases.admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE 'interlock_drill_%'"
    )
    return [r[0] for r in rows]


def test_postgres_drill_logs_rto_and_rpo_and_drops_its_scratch_database(
    tmp_path: Path, databases: Databases, run: Run
) -> None:
    source = databases.create()
    _fill(source)
    (tmp_path / "interlock.toml").write_text(
        '[vault.drills.app]\nassertions = ["SELECT count(*) > 0 FROM users"]\n'
    )
    before = _drill_databases(databases)
    assert run("backup", "--postgres", source, "--name", "app")[0] == 0
    code, out, err = run("drill", "--source", "app", "--postgres", SERVER + "postgres")
    assert code == 0, err
    assert "drill app" in out and "1 assertion(s)" in out and "RTO" in out and ": ok" in out
    [entry] = [
        json.loads(line) for line in (tmp_path / "vault" / "drills.jsonl").read_text().splitlines()
    ]
    assert entry["ok"] is True and entry["source"] == "app" and entry["kind"] == "postgres"
    assert 0 < entry["rto_seconds"] < 60 and 0 < entry["rpo_seconds"] < 60
    assert _drill_databases(databases) == before

    # The user's assertion turns false on the data backed up: the drill fails, exit 1.
    with psycopg.connect(source, autocommit=True) as db:
        db.execute("DELETE FROM users")
    assert run("backup", "--postgres", source, "--name", "app")[0] == 0
    code, _, err = run("drill", "--postgres", SERVER + "postgres")
    assert code == 1 and "assertion 1 (SELECT count(*) > 0 FROM users) is false" in err
    assert _drill_databases(databases) == before


def test_a_flipped_byte_fails_the_drill(tmp_path: Path, databases: Databases, run: Run) -> None:
    source = databases.create()
    _fill(source)
    assert run("backup", "--postgres", source, "--name", "app")[0] == 0
    for obj in (tmp_path / "vault" / "objects").glob("*/*"):
        obj.chmod(0o600)
        data = bytearray(obj.read_bytes())
        data[len(data) // 2] ^= 0x01
        obj.write_bytes(bytes(data))
        break
    code, _, err = run("drill", "--postgres", SERVER + "postgres")
    assert code == 1 and "FAILED" in err and "altered" in err
    entry = json.loads((tmp_path / "vault" / "drills.jsonl").read_text())
    assert entry["ok"] is False and "altered" in entry["error"]


def test_sqlite_drill_newest_or_random(tmp_path: Path, run: Run) -> None:
    database = tmp_path / "app.db"
    with closing(sqlite3.connect(database)) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
    assert run("backup", "--sqlite", str(database), "--name", "lite")[0] == 0
    assert run("backup", "--folder", str(tmp_path / "vault"), "--name", "files")[0] == 0
    code, out, _ = run("drill")
    assert code == 0 and "drill files" in out and "drill lite" in out
    assert run("drill", "--random", "--source", "lite")[0] == 0
    code, _, err = run("drill", "--source", "nope")
    assert code == 1 and "no backup of source 'nope'" in err


def test_postgres_drill_needs_a_server(databases: Databases, run: Run) -> None:
    source = databases.create()
    _fill(source)
    assert run("backup", "--postgres", source, "--name", "app")[0] == 0
    code, _, err = run("drill")
    assert code == 1 and "give --postgres URL" in err


def test_a_window_picks_only_recent_backups_and_fails_a_source_with_none(
    repository: Repository, tmp_path: Path
) -> None:
    from interlock.vault.drills import choose
    from interlock.vault.sources.folders import backup_folder

    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.txt").write_text("one")
    first = backup_folder(repository, folder, "files")
    (folder / "a.txt").write_text("two")
    second = backup_folder(repository, folder, "files")
    finished = datetime.fromisoformat(second.manifest.finished).timestamp()
    # Both backups are inside a day; the newest of them is the second.
    assert [s.id for s in choose(repository, None, pick_random=False, window=86400)] == [second.id]
    picks = {
        s.id for _ in range(40) for s in choose(repository, None, pick_random=True, window=86400)
    }
    assert picks == {first.id, second.id}
    # A week later nothing is in a one-day window: the drill must fail, not quietly skip.
    with pytest.raises(VaultError, match="no backup of files finished within the window"):
        choose(
            repository, None, pick_random=False, window=86400, clock=lambda: finished + 7 * 86400
        )
