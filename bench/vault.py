"""The vault's speed on a pgbench database of at least 1 GB, against the bare tools (issue 7 §9).

    .venv/bin/python bench/vault.py                 # 4 rounds, about 5 minutes once the db exists
    .venv/bin/python bench/vault.py --json          # one JSON object instead of the table
    .venv/bin/python bench/vault.py --rounds 1      # quick look

Targets, each a ratio of seconds measured in the same run, on the same database:

- backup: bare ``pg_dump -Fc -f FILE`` (default compression) / ``interlock vault backup``
  (pg_dump streamed into the vault, zstd, AES-GCM, fsynced objects, row counts and checksums
  per table in the dump's snapshot) >= 0.8;
- restore: bare ``pg_restore -d NEWDB FILE`` (one job) / the vault's restore (a new database,
  every chunk checked and opened, pg_restore from stdin, then every table's row count and
  checksum compared with the manifest) >= 0.8. The figure without that check (the same run's
  check time taken out) is printed beside it, not judged;
- verify: ``interlock vault verify`` of a vault holding that one backup, in MB/s of the dump
  and of the stored bytes (no target: reported).

The database is ``interlock_bench_vault`` on 127.0.0.1:5432 (user postgres), made once with
``pgbench -i -s 70`` (about 1.1 GB; this says so and takes a minute) and reused afterwards.
Rounds alternate which side goes first (4 by default, so each goes first as often), and
each step starts from a settled server (the databases restored before it dropped, a
CHECKPOINT taken); medians are reported, each figure with the machine's
1-minute load average when it was taken (2 shared cores: load matters). Targets are reported,
never enforced: the exit status is 1 only when the benchmark itself broke.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from interlock.vault import open_local, verify
from interlock.vault.sources import postgres

SERVER = "postgresql://postgres@127.0.0.1:5432/"
DATABASE = "interlock_bench_vault"
SCALE = 70
RATIO = 0.8
MIN_BYTES = 1_000_000_000


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL (no database)")
    parser.add_argument("--database", default=DATABASE, help="the pgbench database")
    parser.add_argument("--scale", type=int, default=SCALE, help="pgbench -s when it is made")
    parser.add_argument(
        "--rounds", type=int, default=4, help="rounds, alternating who goes first (median)"
    )
    parser.add_argument(
        "--min-bytes", type=int, default=MIN_BYTES, help="refuse a smaller database (tests: 0)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    return parser.parse_args(argv)


@dataclass
class Timing:
    seconds: float
    load: float  # 1-minute load average just before


@dataclass
class Round:
    dump: Timing
    backup: Timing
    pg_restore: Timing
    restore: Timing  # with the check
    check: Timing  # the check alone, part of restore
    verify: Timing
    dump_bytes: int  # bare pg_dump -Fc file
    stream_bytes: int  # the vault's plaintext stream (pg_dump --compress=0)
    stored_bytes: int  # what verify read


@dataclass
class Results:
    database: str
    database_bytes: int
    tables: dict[str, int]
    rounds: list[Round] = field(default_factory=list)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def load() -> float:
    return os.getloadavg()[0]


def timed(action: Callable[[], object]) -> Timing:
    before = load()
    began = time.perf_counter()
    action()
    return Timing(time.perf_counter() - began, before)


# --- the database ------------------------------------------------------------------------------


def ensure_database(server: str, name: str, scale: int, min_bytes: int) -> int:
    """The pgbench database's size in bytes; made with pgbench when missing."""
    with psycopg.connect(server + "postgres", autocommit=True, connect_timeout=5) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            say(f"making {name} with pgbench -i -s {scale} (once; reused by later runs)")
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                subprocess.run(
                    ["pgbench", "-i", "-q", "-s", str(scale), server + name],
                    check=True,
                    stdout=subprocess.DEVNULL,
                )
            except (OSError, subprocess.CalledProcessError):
                admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                raise
        row = admin.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
    assert row is not None
    size = int(row[0])
    if size < min_bytes:
        raise SystemExit(
            f"{name} holds {size / 1e9:.2f} GB, under {min_bytes / 1e9:.2f} GB: drop it "
            f"(dropdb {name}) and run again, or give a larger --scale"
        )
    return size


def row_counts(server: str, name: str) -> dict[str, int]:
    with psycopg.connect(server + name) as conn:
        counts, _ = postgres.table_sums(conn, {})
    return counts


@contextmanager
def scratch_databases(server: str) -> Iterator[Callable[[], str]]:
    """Names for restores, each dropped at the end (and any left by an earlier broken run)."""
    made: list[str] = []

    def fresh() -> str:
        made.append(f"interlock_bench_restore_{secrets.token_hex(4)}")
        return made[-1]

    try:
        yield fresh
    finally:
        with psycopg.connect(server + "postgres", autocommit=True) as admin:
            for name in made:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- one round ---------------------------------------------------------------------------------


def settle(server: str, restored: list[str]) -> None:
    """Drop the restored databases and checkpoint, so no step pays for an earlier one."""
    with psycopg.connect(server + "postgres", autocommit=True) as admin:
        while restored:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored.pop()}" WITH (FORCE)')
        # Not a superuser (nor pg_checkpoint): dirty buffers stay where they are.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            admin.execute("CHECKPOINT")


def one_round(
    args: argparse.Namespace, work: Path, fresh: Callable[[], str], vault_first: bool
) -> Round:
    source = args.server + args.database
    dump_file = work / "bare.dump"
    dump_file.unlink(missing_ok=True)
    vault_dir = work / f"vault-{secrets.token_hex(3)}"
    repository = open_local(vault_dir, create=True)
    made: dict[str, Any] = {}

    def bare_dump() -> None:
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump_file), source], check=True)

    def vault_backup() -> None:
        made["snapshot"] = postgres.backup_postgres(repository, source, "bench")

    restored: list[str] = []

    def run(steps: list[tuple[str, Callable[[], object]]]) -> dict[str, Timing]:
        """Each step from a settled server: the databases restored so far dropped (autovacuum
        would work through them during the next step) and a checkpoint taken."""
        done = {}
        for name, step in reversed(steps) if vault_first else steps:
            settle(args.server, restored)
            done[name] = timed(step)
        return done

    timings = run([("dump", bare_dump), ("backup", vault_backup)])
    bare_target, vault_target = fresh(), fresh()

    def bare_restore() -> None:
        restored.append(bare_target)
        postgres.create_database(postgres.Target.parse(args.server + bare_target))
        subprocess.run(["pg_restore", "-d", args.server + bare_target, str(dump_file)], check=True)

    check_timing: list[Timing] = []

    def vault_restore() -> None:
        # restore_postgres's steps, timed apart: a scratch database, the load, the check (the
        # rename to the target name, one catalog update, is left out).
        restored.append(vault_target)
        target = postgres.Target.parse(args.server + vault_target)
        postgres.create_database(target)
        postgres.load(repository, made["snapshot"], target)
        check_timing.append(timed(lambda: postgres.check(made["snapshot"], target)))

    timings |= run([("pg_restore", bare_restore), ("restore", vault_restore)])
    settle(args.server, restored)
    report: list[Any] = []
    timings["verify"] = timed(lambda: report.append(verify(repository)))
    if not report[0].ok:
        raise SystemExit(f"verify found problems: {report[0].problems[:3]}")
    snapshot = made["snapshot"]
    result = Round(
        dump=timings["dump"],
        backup=timings["backup"],
        pg_restore=timings["pg_restore"],
        restore=timings["restore"],
        check=check_timing[0],
        verify=timings["verify"],
        dump_bytes=dump_file.stat().st_size,
        stream_bytes=snapshot.manifest.size,
        stored_bytes=report[0].bytes,
    )
    shutil.rmtree(vault_dir, ignore_errors=True)
    return result


# --- the report --------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def summary(results: Results) -> dict[str, Any]:
    rounds = results.rounds
    size = results.database_bytes

    def med(pick: Callable[[Round], Timing]) -> dict[str, float]:
        return {
            "seconds": median([pick(r).seconds for r in rounds]),
            "load": median([pick(r).load for r in rounds]),
        }

    dump, backup = med(lambda r: r.dump), med(lambda r: r.backup)
    bare_restore, restore = med(lambda r: r.pg_restore), med(lambda r: r.restore)
    check = med(lambda r: r.check)
    unchecked = median([r.restore.seconds - r.check.seconds for r in rounds])
    verify_s = med(lambda r: r.verify)
    stream = median([float(r.stream_bytes) for r in rounds])
    stored = median([float(r.stored_bytes) for r in rounds])
    backup_ratio = dump["seconds"] / backup["seconds"]
    restore_ratio = bare_restore["seconds"] / restore["seconds"]
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {os.cpu_count()} cores",
        "database": results.database,
        "database_bytes": size,
        "tables": results.tables,
        "rounds": len(rounds),
        "dump_bytes": median([float(r.dump_bytes) for r in rounds]),
        "stream_bytes": stream,
        "stored_bytes": stored,
        "dump": dump,
        "backup": backup,
        "backup_ratio": backup_ratio,
        "backup_pass": backup_ratio >= RATIO,
        "pg_restore": bare_restore,
        "restore": restore,
        "restore_check": check,
        "restore_without_check_seconds": unchecked,
        "restore_ratio": restore_ratio,
        "restore_ratio_without_check": bare_restore["seconds"] / unchecked,
        "restore_pass": restore_ratio >= RATIO,
        "verify": verify_s,
        "verify_stream_mb_s": stream / verify_s["seconds"] / 1e6,
        "verify_stored_mb_s": stored / verify_s["seconds"] / 1e6,
        "each_round": [asdict(r) for r in rounds],
    }


def table(s: dict[str, Any]) -> str:
    size = s["database_bytes"]

    def row(name: str, t: dict[str, float], extra: str = "") -> str:
        rate = size / t["seconds"] / 1e6
        return f"  {name:<34} {t['seconds']:7.2f} s {rate:8.1f} MB/s   load {t['load']:4.1f}{extra}"

    mark = {True: "PASS", False: "FAIL"}
    lines = [
        f"vault on {s['database']} ({size / 1e9:.2f} GB, {sum(s['tables'].values()):,} rows in "
        f"{len(s['tables'])} tables), {s['rounds']} round(s), medians, {s['when']}, {s['machine']}",
        "  (MB/s = database size / seconds; load = 1-minute load average before the step)",
        row("bare pg_dump -Fc -f FILE", s["dump"], f"   file {s['dump_bytes'] / 1e6:.1f} MB"),
        row(
            "vault backup",
            s["backup"],
            f"   stream {s['stream_bytes'] / 1e6:.0f} MB, stored {s['stored_bytes'] / 1e6:.1f} MB",
        ),
        f"  backup ratio {s['backup_ratio']:.2f} (target >= {RATIO}): {mark[s['backup_pass']]}",
        row("bare pg_restore -d NEWDB FILE", s["pg_restore"]),
        row("vault restore, checked", s["restore"]),
        f"  {'  of which the check':<34} {s['restore_check']['seconds']:7.2f} s",
        f"  restore ratio {s['restore_ratio']:.2f} (target >= {RATIO}): {mark[s['restore_pass']]}"
        f"; without the check {s['restore_ratio_without_check']:.2f} "
        f"({s['restore_without_check_seconds']:.2f} s)",
        f"  vault verify {s['verify']['seconds']:.2f} s: {s['verify_stream_mb_s']:.0f} MB/s of "
        f"dump stream, {s['verify_stored_mb_s']:.1f} MB/s stored, load {s['verify']['load']:.1f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        say("pg_dump and pg_restore are needed (PostgreSQL's client tools)")
        return 1
    size = ensure_database(args.server, args.database, args.scale, args.min_bytes)
    results = Results(args.database, size, row_counts(args.server, args.database))
    key = os.environ.pop("INTERLOCK_VAULT_KEY", None)  # each round's vault makes its own key
    try:
        with (
            tempfile.TemporaryDirectory(prefix="interlock-bench-vault-") as work,
            scratch_databases(args.server) as fresh,
        ):
            for index in range(args.rounds):
                say(f"round {index + 1}/{args.rounds} (load {load():.1f})")
                results.rounds.append(
                    one_round(args, Path(work), fresh, vault_first=index % 2 == 1)
                )
    finally:
        if key is not None:
            os.environ["INTERLOCK_VAULT_KEY"] = key
    report = summary(results)
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
