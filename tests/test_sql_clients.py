"""Database clients on the command line: the SQL they send, and the environment they reach."""

from __future__ import annotations

import pytest

from interlock.actions import ShellAction
from interlock.config import Policy
from interlock.decisions import Verdict
from interlock.engine import decide

POLICY = Policy(project_root="/srv/app")


def verdict(command: str) -> Verdict:
    return decide(ShellAction(command=command, cwd="/srv/app"), POLICY).verdict


CAUGHT = [
    # bundled short options and values that used to swallow the SQL
    ("psql -qtAc 'DROP TABLE x'", "psql -qtAc 'SELECT 1'"),
    ("psql -W -c 'DROP TABLE x'", "psql -W -c 'SELECT 1'"),
    ("mysql -p -e 'DROP TABLE x' shop", "mysql -p -e 'SHOW TABLES' shop"),
    ('mysql -e"DROP TABLE x"', 'mysql -e"SELECT 1"'),
    ("mysql --execute='DELETE FROM t'", "mysql --execute='DELETE FROM t WHERE id = 1'"),
    ("mysql -uroot -Ne 'TRUNCATE t'", "mysql -uroot -Ne 'SELECT 1'"),
    ("sqlite3 app.db -cmd 'DELETE FROM t' .quit", "sqlite3 app.db -cmd '.mode csv' .quit"),
    ("redis-cli --scan --pattern 'x*' | xargs redis-cli del", "redis-cli --scan --pattern 'x*'"),
    ("redis-cli -n 2 FLUSHDB", "redis-cli -n 2 DBSIZE"),
    ("redis-cli CONFIG SET dir /tmp", "redis-cli CONFIG GET dir"),
    ("mongosh shop --eval 'db.users.remove({})'", "mongosh shop --eval 'db.users.remove({a: 1})'"),
    # SQL from a file Interlock did not read
    ("psql -f cleanup.sql", "psql -l"),
    ("psql < cleanup.sql", "psql -c 'SELECT 1' > out.txt"),
    ("sqlite3 app.db < wipe.sql", "sqlite3 app.db .tables"),
    ("mongosh script.js", "mongosh --eval 'db.version()'"),
    ("redis-cli --eval wipe.lua", "redis-cli PING"),
]


@pytest.mark.parametrize(("command", "lookalike"), CAUGHT)
def test_caught_and_lookalike(command: str, lookalike: str) -> None:
    assert verdict(command) is not Verdict.ALLOW
    assert verdict(lookalike) is Verdict.ALLOW


REMOTE = [
    "psql -h db.example.com -c 'DROP TABLE x'",
    "psql postgres://app@db.example.com/shop -c 'DROP TABLE x'",
    "psql 'host=db.example.com dbname=shop' -c 'DROP TABLE x'",
    "PGHOST=db.example.com psql -c 'TRUNCATE t'",
    "mysql -h db.example.com -e 'DELETE FROM t'",
    "mysql -hdb.example.com -e 'DROP DATABASE shop'",
    "redis-cli -h cache.example.com FLUSHALL",
    "redis-cli -u redis://cache.example.com:6379 FLUSHALL",
    "mongosh 'mongodb://db.example.com/shop' --eval 'db.dropDatabase()'",
]


@pytest.mark.parametrize("command", REMOTE)
def test_remote_target_of_unknown_environment_is_denied(command: str) -> None:
    assert verdict(command) is Verdict.DENY


LOCAL = [
    "psql -c 'DROP TABLE x'",
    "psql -h localhost -c 'DROP TABLE x'",
    "psql -h /var/run/postgresql -c 'DROP TABLE x'",
    "psql postgres://app@127.0.0.1/shop -c 'DROP TABLE x'",
    "mysql -h 127.0.0.1 -e 'DROP TABLE x'",
    "redis-cli -h ::1 FLUSHALL",
    "mongosh mongodb://localhost/shop --eval 'db.dropDatabase()'",
]


@pytest.mark.parametrize("command", LOCAL)
def test_local_target_is_the_actions_environment(command: str) -> None:
    assert verdict(command) is Verdict.ASK


def test_inventory_places_a_remote_database() -> None:
    policy = Policy(
        project_root="/srv/app",
        inventory={"staging": {"host": ("db.staging.internal",)}},
    )
    action = ShellAction(command="psql -h db.staging.internal -c 'DROP TABLE x'", cwd="/srv/app")
    decision = decide(action, policy)
    assert decision.verdict is Verdict.ASK
    assert {f.environment for f in decision.findings} == {"staging"}
