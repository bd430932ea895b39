"""`interlock vault` end to end through the CLI's entry point, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from interlock.cli import main


def test_backup_list_verify_restore_and_a_flipped_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "app.db"
    with closing(sqlite3.connect(source)) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.executemany("INSERT INTO users VALUES (?)", [("ann",), ("bob",)])
        db.commit()
    vault = str(tmp_path / "vault")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["vault", *args, "--vault", vault])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    code, out, err = run("backup", "--sqlite", str(source), "--name", "app")
    assert code == 0 and "app (sqlite, 1 table(s))" in out and "made a vault" in err
    code, out, _ = run("list")
    snapshot = out.split()[0]
    assert code == 0 and "app" in out
    assert run("verify")[0] == 0

    target = tmp_path / "restored.db"
    assert run("restore", snapshot, "--to", str(target))[0] == 0
    with closing(sqlite3.connect(target)) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 2
    code, _, err = run("restore", snapshot, "--to", str(target))
    assert code == 1 and "refusing to replace it" in err
    assert run("restore", snapshot, "--to", str(target), "--force")[0] == 0

    obj = next((tmp_path / "vault" / "objects").glob("*/*"))
    obj.chmod(0o600)
    data = bytearray(obj.read_bytes())
    data[-3] ^= 0xFF
    obj.write_bytes(bytes(data))
    code, out, err = run("verify")
    assert code == 1 and f"corrupt object {obj.name}" in out and snapshot in out
    assert "1 problem(s)" in err


def test_backup_needs_exactly_one_source(tmp_path: Path) -> None:
    assert main(["vault", "backup", "--name", "x", "--vault", str(tmp_path / "v")]) == 1
    assert not (tmp_path / "v").exists()
