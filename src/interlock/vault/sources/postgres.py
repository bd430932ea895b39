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

import contextlib
import fcntl
import os
import secrets
import subprocess
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import IO, Any, BinaryIO, cast

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from interlock.vault.errors import VaultError, VaultIntegrityError
from interlock.vault.manifests import Manifest
from interlock.vault.repository import Advance, Repository, Snapshot, now
from interlock.vault.sources import read_pieces

__all__ = [
    "Target",
    "backup_postgres",
    "check",
    "drop_database",
    "load",
    "load_and_check",
    "methods",
    "restore_postgres",
    "table_sums",
]

# Every ordinary table outside the system schemas, largest first (the checks are spread over
# connections in that order, so the longest scan starts first).
_TABLES = """
SELECT format('%I.%I', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY pg_relation_size(c.oid) DESC, 1
"""
# A row count and an order-free checksum per table: the sum of a 64-bit hash of each row, so
# no sort (one sequential scan) and no dependence on the order pg_restore writes rows in.
# Three ways to hash a row, the cheapest that the table's column types allow, named by the
# prefix of the checksum in the manifest (so a restore recomputes it the same way):
#
# - "cols:" (format 2): each column through its type's own extended hash function, seeded by
#   its position, XORed, the result hashed once more: about 2.5 s of server CPU for the 7 M
#   rows of pgbench -s 70;
# - "hash:" (format 2): hash_record_extended over the whole row, hashed once more, for column
#   types whose hash function takes another type (bool, date, varchar, arrays, domains): 4.5 s.
#   The second hash matters: hash_record_extended combines its columns linearly, so a plain
#   sum would not change when two rows swap the values of one column;
# - "" (format 1, and any table with a type that has no hash function: json, point, ...): the
#   first 64 bits of md5 of the row's text: 23 s. Format 1 backups carry only these.
#
# The hash methods compare values as the types' equality does (numeric 1.0 and 1.00 hash
# alike); md5 of the text compares the text.
_COLUMNS = "cols:"
_HASH = "hash:"
_MD5 = ""
_SUMS = {
    _HASH: "SELECT count(*), coalesce(sum(hashint8extended(hash_record_extended(t, 0), 0)), 0) FROM {} AS t",
    _MD5: "SELECT count(*), coalesce(sum(('x' || left(md5(t::text), 16))::bit(64)::bigint), 0) FROM {} AS t",
}
# Each column of a table with the extended hash function of its type's default hash operator
# class (support function 2), when that function takes exactly the column's type.
_COLUMN_HASHES = """
SELECT a.attname, f.proc
FROM pg_attribute a
LEFT JOIN LATERAL (
  SELECT pr.oid::regproc::text AS proc
  FROM pg_opclass oc
  JOIN pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
  JOIN pg_amproc ap ON ap.amprocfamily = oc.opcfamily AND ap.amprocnum = 2
   AND ap.amproclefttype = oc.opcintype AND ap.amprocrighttype = oc.opcintype
  JOIN pg_proc pr ON pr.oid = ap.amproc AND pr.proargtypes[0] = a.atttypid
  WHERE oc.opcdefault AND oc.opcintype = a.atttypid
  LIMIT 1
) f ON true
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
# Connections checking tables at the same time (each one table at a time).
_CHECKERS = 2
_PIPE_BYTES = 1024 * 1024
# pg_dump's zlib at level 1, not its default 6 (3-4 times the CPU) nor off. Off (the vault's
# zstd, in its sealing threads, doing all the compressing) was measured too: 4-15 % faster
# backups on a less compressible table, but slower backups and restores on pgbench, whose
# blank-padded rows zlib 1 compresses 36-fold at 260 MB/s: 36 times more bytes crossed the
# pipes and the SHA-256s, both ways (ratios to the bare tools 0.83-0.86 and 0.77-0.85,
# against 0.93-1.01 and 0.82-1.01; docs/performance.md, the vault).
_DUMP_COMPRESSION = 1


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


def backup_postgres(
    repository: Repository, url: str, source: str, progress: Advance | None = None
) -> Snapshot:
    """Dump the database into the vault; the manifest is written only if pg_dump succeeded.

    Three things run at once: pg_dump (``--compress=1``), the vault's sealing threads, and the
    table checks on connections sharing the dump's snapshot.
    """
    target = Target.parse(url)
    started = now()
    with target.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        exported = str(row[0])
        dbname, env = target.tool_args()
        command = [
            "pg_dump",
            "--format=custom",
            f"--compress={_DUMP_COMPRESSION}",
            f"--snapshot={exported}",
            f"--dbname={dbname}",
        ]
        with _process(command, env, stdout=subprocess.PIPE) as (dump, errors):
            assert dump.stdout is not None
            with ThreadPoolExecutor(1) as pool:
                # Counted while pg_dump streams, on connections in its snapshot.
                sums = pool.submit(table_sums, conn, more=lambda: _in_snapshot(target, exported))
                try:
                    stream = repository.write_stream(
                        read_pieces(cast(BinaryIO, dump.stdout), repository.chunk_size), progress
                    )
                except BaseException:
                    conn.cancel_safe()  # the checks' scans are of no use now
                    raise
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


def restore_postgres(
    repository: Repository,
    snapshot: Snapshot,
    url: str,
    *,
    force: bool,
    progress: Advance | None = None,
) -> None:
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
        load_and_check(repository, snapshot, scratch, progress)
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


def load_and_check(
    repository: Repository, snapshot: Snapshot, target: Target, progress: Advance | None = None
) -> None:
    """pg_restore the backup into the (empty) database ``target``, then check what it holds."""
    load(repository, snapshot, target, progress)
    check(snapshot, target)


def load(
    repository: Repository, snapshot: Snapshot, target: Target, progress: Advance | None = None
) -> None:
    """pg_restore the backup into ``target``; the repository's threads fetch, check and open
    the next chunks while this one feeds pg_restore's stdin."""
    manifest = snapshot.manifest
    if manifest.kind != "postgres" or manifest.stream is None:
        raise VaultError(f"snapshot {snapshot.id[:12]} is a {manifest.kind} backup, not PostgreSQL")
    dbname, env = target.tool_args()
    command = ["pg_restore", "--exit-on-error", f"--dbname={dbname}"]
    with _process(command, env, stdin=subprocess.PIPE) as (restore, errors):
        assert restore.stdin is not None
        pieces = repository.read_stream(manifest.stream, progress)
        try:
            for piece in pieces:
                restore.stdin.write(piece)
            restore.stdin.close()
        except BrokenPipeError:
            pass  # pg_restore stopped early; its exit status and stderr say why, below
        finally:
            pieces.close()
        _finish(restore, errors, "pg_restore")


def check(snapshot: Snapshot, target: Target) -> None:
    """Every table's row count and checksum in ``target`` against the manifest's, each by the
    method it was taken with, ``_CHECKERS`` tables at a time."""
    manifest = snapshot.manifest
    with target.connect() as conn:
        counts, checksums = table_sums(conn, methods(manifest.checksums), more=target.connect)
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


Sums = tuple[dict[str, int], dict[str, str]]


def table_sums(
    conn: psycopg.Connection[Any],
    methods: Mapping[str, str] | None = None,
    *,
    more: Callable[[], AbstractContextManager[psycopg.Connection[Any]]] | None = None,
) -> Sums:
    """Row count and checksum of every ordinary table, in the connection's current snapshot.

    ``methods`` (from :func:`methods`) says how each table was checksummed at backup time;
    without it each table gets the hash method, or md5 where a column type has no hash
    function. ``more`` opens further connections on the same data (the same snapshot, for a
    backup), so that up to ``_CHECKERS`` tables are scanned at once, largest first.
    """
    waiting = deque(str(row[0]) for row in conn.execute(_TABLES).fetchall())
    counts: dict[str, int] = {}
    checksums: dict[str, str] = {}

    def check_all(checker: psycopg.Connection[Any]) -> None:
        while waiting:
            try:
                name = waiting.popleft()
            except IndexError:
                return
            method = None if methods is None else methods.get(name, "")
            counts[name], checksums[name] = _sum_table(checker, name, method)

    def check_elsewhere() -> None:
        assert more is not None
        with ExitStack() as stack:
            try:
                checker = stack.enter_context(more())
            except (VaultError, psycopg.Error):
                # No second connection (max_connections reached, the snapshot gone): the
                # first connection checks every table, as before there were helpers.
                return
            check_all(checker)

    helpers = min(_CHECKERS, len(waiting)) - 1 if more is not None else 0
    if helpers <= 0:
        check_all(conn)
    else:
        with ThreadPoolExecutor(helpers, thread_name_prefix="vault-check") as pool:
            started = [pool.submit(check_elsewhere) for _ in range(helpers)]
            try:
                check_all(conn)
            finally:
                waiting.clear()  # a failure here stops the helpers after their current table
                for future in started:
                    future.result()
    return dict(sorted(counts.items())), dict(sorted(checksums.items()))


def methods(checksums: Mapping[str, str]) -> dict[str, str]:
    """Each table's checksum method in a manifest: its prefix (``cols:``, ``hash:``, or ``''``
    for md5, the only method of format 1)."""
    return {name: _method_of(value) for name, value in checksums.items()}


def _method_of(checksum: str) -> str:
    for method in (_COLUMNS, _HASH):
        if checksum.startswith(method):
            return method
    return _MD5


def _sum_table(conn: psycopg.Connection[Any], name: str, method: str | None) -> tuple[int, str]:
    """``name``'s row count and checksum by ``method``; ``None`` (a backup): the cheapest."""
    if method is None:
        if _column_sums(conn, name) is not None:
            method = _COLUMNS
        else:
            try:
                # A savepoint: the failed attempt must not end the transaction (its snapshot).
                with conn.transaction():
                    return _sum_with(conn, name, _HASH)
            except psycopg.errors.UndefinedFunction:
                method = _MD5  # a column type without an extended hash function (json, ...)
    return _sum_with(conn, name, method)


def _sum_with(conn: psycopg.Connection[Any], name: str, method: str) -> tuple[int, str]:
    if method == _COLUMNS:
        query = _column_sums(conn, name)
        if query is None:
            raise VaultIntegrityError(
                f"table {name} was checksummed column by column at backup time, but here a "
                "column's type has no hash function taking it (another schema or server version)"
            )
    else:
        query = sql.SQL(_SUMS[method]).format(sql.SQL(name))
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0]), f"{method}{row[1]}"


def _column_sums(conn: psycopg.Connection[Any], name: str) -> sql.Composed | None:
    """The ``cols:`` query for table ``name``, or ``None`` when a column type does not allow it."""
    columns = conn.execute(_COLUMN_HASHES, (name,)).fetchall()
    if not columns or any(proc is None for _, proc in columns):
        return None
    # Each column's hash seeded by its position (equal values in two columns hash apart), a
    # NULL as 0, XORed, and the row's value hashed once more: without that last mix, a sum of
    # XORs could stay the same when two rows swap values.
    row_hash = sql.SQL("hashint8extended({}, 0)").format(
        sql.SQL(" # ").join(
            sql.SQL("coalesce({}({}, {}), 0)").format(
                sql.SQL(str(proc)), sql.Identifier(str(column)), sql.Literal(position)
            )
            for position, (column, proc) in enumerate(columns, 1)
        )
    )
    return sql.SQL("SELECT count(*), coalesce(sum({}), 0) FROM {}").format(row_hash, sql.SQL(name))


@contextmanager
def _in_snapshot(target: Target, exported: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose transaction reads the exported snapshot (the dump's)."""
    with target.connect() as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(exported)))
        yield conn
        conn.rollback()


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
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                # 1 MiB instead of 64 KiB: the tool runs further ahead of the vault's reads
                # and writes, with 16 times fewer wake-ups. Only a hint: refused is fine.
                with contextlib.suppress(OSError, AttributeError):
                    fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
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
