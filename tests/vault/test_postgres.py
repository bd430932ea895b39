"""The PostgreSQL source against the real server on 127.0.0.1:5432 (fails, never skips, without it)."""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path
from typing import Any

import psycopg
import pytest

from interlock.cli import main
from interlock.vault import Repository, VaultError, VaultIntegrityError
from interlock.vault.blobs import seal
from interlock.vault.manifests import Manifest
from interlock.vault.sources.postgres import (
    Target,
    backup_postgres,
    check,
    load,
    restore_postgres,
    table_sums,
)

SERVER = "postgresql://postgres@127.0.0.1:5432/"


class Databases:
    """Scratch databases made for one test and dropped after it."""

    def __init__(self) -> None:
        try:
            self.admin = psycopg.connect(SERVER + "postgres", autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL does not answer at 127.0.0.1:5432 as user postgres ({exc})")
        self.names: list[str] = []

    def name(self) -> str:
        """A fresh name, dropped after the test whether or not anything made it."""
        name = f"ilv_test_{secrets.token_hex(4)}"
        self.names.append(name)
        return name

    def create(self) -> str:
        name = self.name()
        self.admin.execute(f'CREATE DATABASE "{name}"')
        return SERVER + name

    def drop_all(self) -> None:
        rows = self.admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'ilv_test_%'")
        leftovers = [r[0] for r in rows if any(r[0].startswith(n) for n in self.names)]
        for name in leftovers:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


def _fill(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("CREATE TABLE users (id serial PRIMARY KEY, name text, score float8)")
        db.execute(
            "INSERT INTO users (name, score) SELECT 'u' || i, i / 7.0 FROM generate_series(1, 500) i"
        )
        db.execute('CREATE SCHEMA "Odd"')
        db.execute('CREATE TABLE "Odd"."Mixed Case" (v bytea)')
        db.execute('INSERT INTO "Odd"."Mixed Case" VALUES (\'\\x00ff\'), (NULL)')


def test_backup_then_restore_checks_counts_and_checksums(
    repository: Repository, databases: Databases
) -> None:
    source = databases.create()
    _fill(source)
    snapshot = backup_postgres(repository, source, "app")
    manifest = snapshot.manifest
    assert manifest.kind == "postgres"
    assert manifest.tables == {"public.users": 500, '"Odd"."Mixed Case"': 2}
    assert set(manifest.checksums) == set(manifest.tables)
    assert manifest.stream is not None and len(manifest.stream.chunks) > 1  # 1 KB test chunks

    target = SERVER + databases.name()
    restore_postgres(repository, snapshot, target, force=False)
    with psycopg.connect(target) as db:
        assert db.execute("SELECT count(*), sum(score) FROM users").fetchone() == (
            500,
            pytest.approx(sum(i / 7.0 for i in range(1, 501))),
        )

    with pytest.raises(VaultError, match="exists; refusing"):
        restore_postgres(repository, snapshot, target, force=False)
    with psycopg.connect(target, autocommit=True) as db:
        db.execute("DELETE FROM users WHERE id = 1")
    restore_postgres(repository, snapshot, target, force=True)
    with psycopg.connect(target) as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (500,)


def test_counts_come_from_the_dumps_snapshot(repository: Repository, databases: Databases) -> None:
    """A row written after the snapshot is exported is neither dumped nor counted."""
    source = databases.create()
    _fill(source)
    import interlock.vault.sources.postgres as pg

    real = pg.table_sums

    def write_then_count(
        conn: psycopg.Connection[Any], *args: Any, **kwargs: Any
    ) -> tuple[dict[str, int], dict[str, str]]:
        with psycopg.connect(source, autocommit=True) as other:
            other.execute("INSERT INTO users (name) VALUES ('late')")
            other.execute('INSERT INTO "Odd"."Mixed Case" VALUES (NULL)')
        return real(conn, *args, **kwargs)

    pg.table_sums = write_then_count
    try:
        snapshot = backup_postgres(repository, source, "app")
    finally:
        pg.table_sums = real
    # Both tables, the one counted on the exporting connection and the one counted on a
    # second connection that imported its snapshot.
    assert snapshot.manifest.tables == {"public.users": 500, '"Odd"."Mixed Case"': 2}
    target = SERVER + databases.name()
    restore_postgres(repository, snapshot, target, force=False)  # checks counts and checksums


def test_a_changed_checksum_fails_the_restore_and_leaves_nothing(
    repository: Repository, databases: Databases
) -> None:
    source = databases.create()
    _fill(source)
    snapshot = backup_postgres(repository, source, "app")
    forged = dict(snapshot.manifest.checksums, **{"public.users": "1"})
    bad = type(snapshot)(
        snapshot.id, type(snapshot.manifest)(**{**vars(snapshot.manifest), "checksums": forged})
    )
    name = databases.name()
    with pytest.raises(
        VaultIntegrityError, match=r"other rows than were backed up in public\.users"
    ):
        restore_postgres(repository, bad, SERVER + name, force=False)
    rows = databases.admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (name + "%",)
    )
    assert rows.fetchall() == []


def test_a_failed_dump_writes_no_manifest(repository: Repository, databases: Databases) -> None:
    with pytest.raises(VaultError, match=r"cannot connect|does not exist"):
        backup_postgres(repository, SERVER + databases.name(), "app")
    assert repository.snapshots() == []


def test_the_password_is_kept_off_the_command_line() -> None:
    dbname, env = Target.parse("postgresql://u:s3cret@127.0.0.1:5432/app").tool_args()
    assert "s3cret" not in dbname and env["PGPASSWORD"] == "s3cret"


def test_cli_backup_and_restore(
    tmp_path: Path, databases: Databases, capsys: pytest.CaptureFixture[str]
) -> None:
    source = databases.create()
    _fill(source)
    vault = str(tmp_path / "vault")
    assert main(["vault", "backup", "--postgres", source, "--name", "app", "--vault", vault]) == 0
    out = capsys.readouterr().out
    assert "app (postgres, 2 table(s))" in out
    snapshot = out.split()[1].rstrip(":")
    existing = databases.create()
    assert main(["vault", "restore", snapshot, "--to-postgres", existing, "--vault", vault]) == 1
    assert "refusing to restore over it" in capsys.readouterr().err
    assert main(["vault", "restore", snapshot, "--to", str(tmp_path / "x"), "--vault", vault]) == 1


def test_each_table_is_checksummed_the_cheapest_way_its_types_allow(
    repository: Repository, databases: Databases
) -> None:
    """Column by column (users), whole row (a bool column: its hash function takes "char"),
    md5 of the text (json has no hash function); a restore recomputes each the same way."""
    source = databases.create()
    _fill(source)
    with psycopg.connect(source, autocommit=True) as db:
        db.execute("CREATE TABLE flags (on_ boolean, day date)")
        db.execute("INSERT INTO flags VALUES (true, '2026-01-01'), (false, NULL)")
        db.execute("CREATE TABLE events (id int, body json)")
        db.execute("""INSERT INTO events VALUES (1, '{"a": 1}'), (2, '[]')""")
    snapshot = backup_postgres(repository, source, "app")
    prefixes = {name: value.split(":")[0] for name, value in snapshot.manifest.checksums.items()}
    assert prefixes["public.users"] == "cols"
    assert prefixes["public.flags"] == "hash"
    assert snapshot.manifest.checksums["public.events"].lstrip("-").isdigit()  # md5, no prefix
    restore_postgres(repository, snapshot, SERVER + databases.name(), force=False)

    # Two rows swapping one column's values fail the check, whichever way the table was hashed.
    swaps = {
        "users": "UPDATE users SET name = CASE id WHEN 1 THEN 'u2' ELSE 'u1' END WHERE id < 3",
        "flags": "UPDATE flags SET on_ = NOT on_",
        "events": """UPDATE events SET body = (CASE id WHEN 1 THEN '[]' ELSE '{"a": 1}' END)::json""",
    }
    for table, change in swaps.items():
        target = SERVER + databases.name()
        with psycopg.connect(target.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{target.rsplit("/", 1)[1]}"')
        scratch = Target.parse(target)
        load(repository, snapshot, scratch)
        with psycopg.connect(target, autocommit=True) as db:
            db.execute(change)
        with pytest.raises(
            VaultIntegrityError, match=rf"other rows than were backed up in public\.{table}"
        ):
            check(snapshot, scratch)


def test_a_format_1_backup_with_md5_checksums_still_restores(
    repository: Repository, databases: Databases
) -> None:
    source = databases.create()
    _fill(source)
    snapshot = backup_postgres(repository, source, "app")
    with psycopg.connect(source) as db:
        _, md5 = table_sums(db, dict.fromkeys(snapshot.manifest.tables, ""))
    assert all(value.lstrip("-").isdigit() for value in md5.values())
    # The manifest as a format 1 Interlock wrote it: same shape, format 1, md5 checksums.
    body = json.loads(snapshot.manifest.to_bytes())
    blob = seal(
        repository.key, "manifest", json.dumps({**body, "format": 1, "checksums": md5}).encode()
    )
    name = hashlib.sha256(blob).hexdigest()
    repository.backend.put("snapshots", name, blob)
    old = repository.load(name)
    assert old.manifest.checksums == md5
    restore_postgres(repository, old, SERVER + databases.name(), force=False)
    # and its check is real: a changed md5 checksum fails it
    forged = Manifest(**{**vars(old.manifest), "checksums": {**md5, "public.users": "1"}})
    with pytest.raises(
        VaultIntegrityError, match=r"other rows than were backed up in public\.users"
    ):
        restore_postgres(
            repository, type(old)(old.id, forged), SERVER + databases.name(), force=False
        )


def test_without_a_second_connection_the_first_checks_every_table(databases: Databases) -> None:
    source = databases.create()
    _fill(source)

    def refused() -> psycopg.Connection[Any]:
        raise VaultError("cannot connect to PostgreSQL database x: too many clients already")

    with psycopg.connect(source) as db:
        alone = table_sums(db, more=refused)
        assert alone == table_sums(db)
    assert alone[0] == {"public.users": 500, '"Odd"."Mixed Case"': 2}
