"""Real PostgreSQL databases standing in for a provider's disks, backups and snapshots.

A replay is only worth something if the loss is real: every "volume", "backup", "RDS instance"
and "snapshot" of a scenario is a database on the PostgreSQL server at ``INTERLOCK_REPLAY_PG``
(default ``postgresql://postgres@127.0.0.1:5432/postgres``), named ``<prefix>_<name>`` with a
prefix unique to the run, and the verdicts come from asking that server what is left.

A backup is ``CREATE DATABASE … TEMPLATE`` of the database it copies: a full, independent copy
that a restore could use, stored next to its source exactly as the provider stores it.
"""

from __future__ import annotations

import hashlib
import os
import random
import secrets
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import psycopg
from psycopg import sql

from interlock.replay import ReplayError

if TYPE_CHECKING:
    from interlock.replay.timeline import Timeline

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ENV_VAR = "INTERLOCK_REPLAY_PG"


@dataclass(frozen=True)
class Contents:
    """What a database holds: rows per table, and a digest of every row."""

    rows: dict[str, int]
    digest: str

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class Cluster:
    """Scratch databases on one server, all carrying this run's prefix, dropped by :meth:`close`."""

    def __init__(self, url: str | None = None, prefix: str = "interlock_replay") -> None:
        self.url = url or os.environ.get(ENV_VAR) or DEFAULT_URL
        self.prefix = f"{prefix}_{secrets.token_hex(4)}"
        try:
            with self._admin() as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise ReplayError(
                f"cannot reach PostgreSQL at {_safe(self.url)}: {str(exc).strip()[:200]}",
                hint=f"start PostgreSQL (`make postgres`) or set {ENV_VAR} to a server where "
                "this user may create databases",
            ) from None

    def name(self, short: str) -> str:
        return f"{self.prefix}_{short}"

    @contextmanager
    def _admin(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            yield conn

    def url_of(self, database: str) -> str:
        """The connection URL of one database (same server, user and options)."""
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        info["dbname"] = database
        return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v})

    def create(self, database: str, template: str | None = None) -> None:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database))
        if template is not None:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(database), sql.Identifier(template)
            )
        with self._admin() as conn:
            conn.execute(query)

    def drop(self, database: str) -> None:
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )

    def drop_many(self, databases: list[str]) -> None:
        """Drop several at once: each DROP DATABASE waits for a checkpoint, and concurrent
        drops share one instead of queueing for one each (seconds on a busy server)."""
        if len(databases) <= 1:
            for database in databases:
                self.drop(database)
            return
        with ThreadPoolExecutor(max_workers=len(databases)) as pool:
            for future in [pool.submit(self.drop, d) for d in databases]:
                future.result()

    def exists(self, database: str) -> bool:
        with self._admin() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone()
        return row is not None

    def ours(self) -> list[str]:
        """Every database of this run still on the server."""
        with self._admin() as conn:
            rows = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY datname",
                (self.prefix.replace("_", r"\_") + r"\_%",),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def contents(self, database: str) -> Contents | None:
        """Rows per table and a digest of all of them; None when the database is gone."""
        if not self.exists(database):
            return None
        with psycopg.connect(self.url_of(database), connect_timeout=5) as conn:
            tables = [
                str(r[0])
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
                ).fetchall()
            ]
            rows: dict[str, int] = {}
            parts: list[str] = []
            for table in tables:
                ident = sql.Identifier(table)
                count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()
                rows[table] = int(count[0]) if count else 0
                digest = conn.execute(
                    sql.SQL(
                        "SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
                        "FROM {} AS t"
                    ).format(ident)
                ).fetchone()
                parts.append(f"{table}:{digest[0] if digest else ''}")
        return Contents(rows, hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16])

    def close(self) -> None:
        """Drop every database of this run (called however the run ended)."""
        self.drop_many(self.ours())


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "the configured server"
    host = info.get("host", "localhost")
    return f"{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"


# --- realistic contents ---------------------------------------------------------------------

FIRST = ("Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Giulia", "Hiro", "Ines", "Jonas")
LAST = ("Almeida", "Brown", "Chen", "Dubois", "Eze", "Fischer", "García", "Hughes", "Ito", "Kaur")
CARS = ("Toyota Corolla", "VW Golf", "Tesla Model 3", "Ford Transit", "Fiat 500", "BMW X1")


def fill_rentals(cluster: Cluster, database: str, customers: int, seed: int) -> None:
    """A car-rental business's data (PocketOS serves rental companies): customers, vehicles,
    reservations and payments, deterministic for a given ``seed``."""
    rng = random.Random(seed)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    with psycopg.connect(cluster.url_of(database), connect_timeout=5) as conn:
        conn.execute(
            """
            CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL,
                email text NOT NULL UNIQUE, created_at timestamptz NOT NULL);
            CREATE TABLE vehicles (id serial PRIMARY KEY, model text NOT NULL,
                plate text NOT NULL UNIQUE, daily_rate_cents integer NOT NULL);
            CREATE TABLE reservations (id serial PRIMARY KEY,
                customer_id integer NOT NULL REFERENCES customers,
                vehicle_id integer NOT NULL REFERENCES vehicles,
                starts_on date NOT NULL, days integer NOT NULL, status text NOT NULL);
            CREATE TABLE payments (id serial PRIMARY KEY,
                reservation_id integer NOT NULL REFERENCES reservations,
                amount_cents integer NOT NULL, paid_at timestamptz NOT NULL);
            """
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO customers (name, email, created_at) VALUES (%s, %s, %s)",
                [
                    (
                        f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        f"customer{i}@example.com",
                        start + timedelta(hours=rng.randrange(20_000)),
                    )
                    for i in range(customers)
                ],
            )
            fleet = max(4, customers // 10)
            cur.executemany(
                "INSERT INTO vehicles (model, plate, daily_rate_cents) VALUES (%s, %s, %s)",
                [
                    (rng.choice(CARS), f"PK-{i:04d}", rng.randrange(3_000, 15_000))
                    for i in range(fleet)
                ],
            )
            bookings = customers * 3
            cur.executemany(
                "INSERT INTO reservations (customer_id, vehicle_id, starts_on, days, status) "
                "VALUES (%s, %s, %s, %s, %s)",
                [
                    (
                        rng.randrange(1, customers + 1),
                        rng.randrange(1, fleet + 1),
                        (start + timedelta(days=rng.randrange(1_200))).date(),
                        rng.randrange(1, 15),
                        rng.choice(("completed", "completed", "active", "upcoming")),
                    )
                    for _ in range(bookings)
                ],
            )
            cur.executemany(
                "INSERT INTO payments (reservation_id, amount_cents, paid_at) VALUES (%s, %s, %s)",
                [
                    (
                        i,
                        rng.randrange(3_000, 150_000),
                        start + timedelta(hours=rng.randrange(28_000)),
                    )
                    for i in range(1, bookings + 1)
                ],
            )


TRACKS = ("data-engineering-zoomcamp", "ml-zoomcamp", "mlops-zoomcamp", "llm-zoomcamp")


def fill_courses(cluster: Cluster, database: str, students: int, seed: int) -> None:
    """A course platform's data (DataTalks.Club's courses: 2.5 years of homework and scores):
    courses, students, enrollments and submissions, deterministic for a given ``seed``."""
    rng = random.Random(seed)
    start = datetime(2023, 9, 1, tzinfo=UTC)
    with psycopg.connect(cluster.url_of(database), connect_timeout=5) as conn:
        conn.execute(
            """
            CREATE TABLE courses (id serial PRIMARY KEY, slug text NOT NULL, cohort integer
                NOT NULL, UNIQUE (slug, cohort));
            CREATE TABLE students (id serial PRIMARY KEY, name text NOT NULL,
                email text NOT NULL UNIQUE, joined_at timestamptz NOT NULL);
            CREATE TABLE enrollments (student_id integer NOT NULL REFERENCES students,
                course_id integer NOT NULL REFERENCES courses, PRIMARY KEY (student_id, course_id));
            CREATE TABLE submissions (id serial PRIMARY KEY, student_id integer NOT NULL
                REFERENCES students, course_id integer NOT NULL REFERENCES courses,
                homework integer NOT NULL, score integer NOT NULL, submitted_at timestamptz
                NOT NULL);
            """
        )
        with conn.cursor() as cur:
            courses = [(slug, year) for slug in TRACKS for year in (2023, 2024, 2025)]
            cur.executemany("INSERT INTO courses (slug, cohort) VALUES (%s, %s)", courses)
            cur.executemany(
                "INSERT INTO students (name, email, joined_at) VALUES (%s, %s, %s)",
                [
                    (
                        f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        f"student{i}@example.org",
                        start + timedelta(hours=rng.randrange(21_000)),
                    )
                    for i in range(students)
                ],
            )
            pairs = {
                (rng.randrange(1, students + 1), rng.randrange(1, len(courses) + 1))
                for _ in range(students * 2)
            }
            cur.executemany(
                "INSERT INTO enrollments (student_id, course_id) VALUES (%s, %s)", sorted(pairs)
            )
            cur.executemany(
                "INSERT INTO submissions (student_id, course_id, homework, score, submitted_at) "
                "VALUES (%s, %s, %s, %s, %s)",
                [
                    (
                        student,
                        course,
                        homework,
                        rng.randrange(0, 11),
                        start + timedelta(hours=rng.randrange(21_000)),
                    )
                    for student, course in sorted(pairs)
                    for homework in range(1, 4)
                ],
            )


class Counted(Protocol):
    """A scenario's world: what each database held before, and which are gone or changed now."""

    @property
    def before(self) -> Mapping[str, Contents]: ...

    def lost(self) -> list[str]: ...


def verify_intact(timeline: Timeline, world: Counted) -> bool:
    """The protected run's last check, the same in every scenario: nothing lost."""
    lost = world.lost()
    rows = sum(c.total for c in world.before.values())
    return timeline.check(
        "postgres",
        not lost,
        f"nothing lost: {len(world.before)} databases, {rows:,} rows, same contents"
        if not lost
        else f"LOST: {', '.join(lost)}",
    )
