"""PostgreSQL: ``pg_dump -Fc`` streamed into the vault, counted and checksummed in its snapshot.

The backup opens a REPEATABLE READ transaction, exports its snapshot
(``pg_export_snapshot()``) and runs ``pg_dump --snapshot=...`` on it, so the per-table row
counts and checksums taken in that transaction describe exactly the rows in the dump. The
dump's stdout is read chunk by chunk into the repository: no temporary copy of the dump is
ever written. The transaction stays open until pg_dump has exited.

A restore goes into a new scratch database first, is checked there (counts and checksums
against the manifest) and only then renamed to the target name, so a failed or damaged
restore never replaces anything (docs/vault.md, invariant 5). Passwords travel to the
PostgreSQL tools in ``PGPASSWORD``, never on a command line or in an error message.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from interlock.vault.errors import VaultError, VaultIntegrityError
from interlock.vault.manifests import Manifest
from interlock.vault.repository import Repository, Snapshot, now
from interlock.vault.sources import read_pieces

__all__ = ["Target", "backup_postgres", "drop_database", "restore_postgres", "table_sums"]

# Row counts and an order-free checksum per ordinary table, outside the system schemas. The
# checksum is the sum of the first 64 bits of each row's md5 (as text): no sort, so it costs
# one sequential scan, and it does not depend on the physical order pg_restore writes rows in.
_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY 1
"""
_SUMS = "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint), 0) FROM {} AS t"


@dataclass(frozen=True)
class Target:
    """A PostgreSQL server and database, from a URL; the password kept apart from the rest."""

    params: dict[str, Any]

    @classmethod
    def parse(cls, url: str) -> Target:
        try:
            params = conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            raise VaultError("the PostgreSQL URL is not a valid connection string") from None
        if not params.get("dbname"):
            raise VaultError("the PostgreSQL URL names no database")
        return cls(params)

    @property
    def dbname(self) -> str:
        return str(self.params["dbname"])

    def with_db(self, dbname: str) -> Target:
        return Target({**self.params, "dbname": dbname})

    def conninfo(self) -> str:
        return make_conninfo(**self.params)

    def tool_args(self) -> tuple[str, dict[str, str]]:
        """The ``--dbname`` value without the password, and the environment carrying it."""
        params = {k: v for k, v in self.params.items() if k != "password"}
        env = dict(os.environ)
        if "password" in self.params:
            env["PGPASSWORD"] = str(self.params["password"])
        return make_conninfo(**params), env

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.conninfo(), connect_timeout=10, **kwargs)
        except psycopg.OperationalError as exc:
            raise VaultError(
                f"cannot connect to PostgreSQL database {self.dbname}: {_first(exc)}"
            ) from None


def backup_postgres(repository: Repository, url: str, source: str) -> Snapshot:
    """Dump the database into the vault; the manifest is written only if pg_dump succeeded."""
    target = Target.parse(url)
    started = now()
    with target.connect() as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        dbname, env = target.tool_args()
        command = ["pg_dump", "--format=custom", f"--snapshot={row[0]}", f"--dbname={dbname}"]
        with _process(command, env, stdout=subprocess.PIPE) as (dump, errors):
            assert dump.stdout is not None
            with ThreadPoolExecutor(1) as pool:
                # Counted on our connection while pg_dump streams: both read the same snapshot.
                sums = pool.submit(table_sums, conn)
                stream = repository.write_stream(
                    read_pieces(cast(BinaryIO, dump.stdout), repository.chunk_size)
                )
                counts, checksums = sums.result()
            _finish(dump, errors, "pg_dump")
        conn.rollback()
    manifest = Manifest(
        source=source,
        kind="postgres",
        started=started,
        finished=now(),
        stream=stream,
        tables=counts,
        checksums=checksums,
    )
    return repository.commit(manifest)


def restore_postgres(repository: Repository, snapshot: Snapshot, url: str, *, force: bool) -> None:
    """Restore into a scratch database, check it, then rename it to the URL's database."""
    manifest = snapshot.manifest
    if manifest.kind != "postgres" or manifest.stream is None:
        raise VaultError(f"snapshot {snapshot.id[:12]} is a {manifest.kind} backup, not PostgreSQL")
    target = Target.parse(url)
    if _exists(target) and not force:
        raise VaultError(
            f"database {target.dbname} exists; refusing to restore over it",
            "pass --force to replace it, or restore to a new database name",
        )
    scratch = target.with_db(f"{target.dbname[:40]}_restore_{secrets.token_hex(4)}")
    create_database(scratch)
    try:
        load_and_check(repository, snapshot, scratch)
        with _admin(target) as admin:
            ident = sql.Identifier(target.dbname)
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(scratch.dbname), ident
                )
            )
    except BaseException:
        drop_database(scratch)
        raise


def load_and_check(repository: Repository, snapshot: Snapshot, target: Target) -> None:
    """pg_restore the backup into the (empty) database ``target``, then check what it holds."""
    manifest = snapshot.manifest
    assert manifest.stream is not None
    dbname, env = target.tool_args()
    command = ["pg_restore", "--exit-on-error", f"--dbname={dbname}"]
    with _process(command, env, stdin=subprocess.PIPE) as (restore, errors):
        assert restore.stdin is not None
        try:
            for piece in repository.read_stream(manifest.stream):
                restore.stdin.write(piece)
            restore.stdin.close()
        except BrokenPipeError:
            pass  # pg_restore stopped early; its exit status and stderr say why, below
        _finish(restore, errors, "pg_restore")
    with target.connect() as conn:
        counts, checksums = table_sums(conn)
    if counts != manifest.tables:
        raise VaultIntegrityError(
            f"snapshot {snapshot.id[:12]} restored other tables or row counts than were backed up: "
            + _difference(manifest.tables, counts)
        )
    if checksums != manifest.checksums:
        changed = sorted(k for k in manifest.checksums if checksums.get(k) != manifest.checksums[k])
        raise VaultIntegrityError(
            f"snapshot {snapshot.id[:12]} restored other rows than were backed up in "
            + ", ".join(changed)
        )


def table_sums(conn: psycopg.Connection[Any]) -> tuple[dict[str, int], dict[str, str]]:
    """Row count and checksum of every ordinary table, in the connection's current snapshot."""
    counts: dict[str, int] = {}
    checksums: dict[str, str] = {}
    for (name,) in conn.execute(_TABLES).fetchall():
        row = conn.execute(sql.SQL(_SUMS).format(sql.SQL(name))).fetchone()
        assert row is not None
        counts[name], checksums[name] = int(row[0]), str(row[1])
    return counts, checksums


def create_database(target: Target) -> None:
    with _admin(target) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.dbname)))


def drop_database(target: Target) -> None:
    with _admin(target) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target.dbname))
        )


def _exists(target: Target) -> bool:
    with _admin(target) as admin:
        row = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target.dbname,))
        return row.fetchone() is not None


@contextmanager
def _admin(target: Target) -> Iterator[psycopg.Connection[Any]]:
    """A connection to the server's ``postgres`` database, for CREATE/DROP/RENAME DATABASE."""
    with target.with_db("postgres").connect(autocommit=True) as conn:
        yield conn


@contextmanager
def _process(
    command: list[str], env: dict[str, str], *, stdin: int | None = None, stdout: int | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], IO[bytes]]]:
    """Run a PostgreSQL tool with stderr in a private file (a pipe could fill and block it)."""
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(command, env=env, stdin=stdin, stdout=stdout, stderr=errors)
        except FileNotFoundError:
            raise VaultError(f"{command[0]} is not installed (PostgreSQL's client tools)") from None
        try:
            yield process, errors
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


def _finish(process: subprocess.Popen[bytes], errors: IO[bytes], tool: str) -> None:
    if process.wait() != 0:
        errors.seek(0)
        message = errors.read()[-2000:].decode("utf-8", "replace").strip()
        raise VaultError(f"{tool} failed (exit {process.returncode}): {message}")


def _first(exc: Exception) -> str:
    return str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__


def _difference(expected: dict[str, int], got: dict[str, int]) -> str:
    names = sorted(set(expected) | set(got))
    return ", ".join(
        f"{n} {expected.get(n)} -> {got.get(n)}" for n in names if expected.get(n) != got.get(n)
    )
