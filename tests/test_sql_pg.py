"""PostgreSQL on pglast's parse tree: each rule caught, each look-alike left alone."""

from __future__ import annotations

import pytest

from interlock.analyzers import Scope
from interlock.analyzers.sql import analyze
from interlock.config import Policy
from interlock.decisions import Verdict

SCOPE = Scope(policy=Policy(project_root="/srv/app"), cwd="/srv/app", environment="staging")


def ops(sql: str) -> list[str]:
    return [f.operation for f in analyze(sql, "postgres", SCOPE)]


CAUGHT = [
    ("DROP INDEX CONCURRENTLY idx_users_email", "db.drop_index"),
    ("DROP FUNCTION cleanup(int)", "db.drop_function"),
    ("DROP EXTENSION postgis CASCADE", "db.drop_extension"),
    ("DROP MATERIALIZED VIEW report", "db.drop_materialized_view"),
    ("DROP TABLESPACE fast", "db.drop_tablespace"),
    ("DROP DATABASE IF EXISTS shop WITH (FORCE)", "db.drop_database"),
    ("DELETE FROM t WHERE NOT false", "db.delete_all_rows"),
    ("DELETE FROM t WHERE 't'::boolean", "db.delete_all_rows"),
    ("DELETE FROM t WHERE 1 + 1 = 2", "db.delete_all_rows"),
    ("DELETE FROM t WHERE '1' = 1", "db.delete_all_rows"),
    ("DELETE FROM t WHERE x IS NULL OR x IS NOT NULL", "db.delete_all_rows"),
    ("DELETE FROM t WHERE name LIKE '%'", "db.delete_all_rows"),
    ("DELETE FROM t WHERE EXISTS (SELECT 1)", "db.delete_all_rows"),
    ("UPDATE t SET a = 1 WHERE id = id", "db.update_all_rows"),
    ("UPDATE t SET a = 1 FROM u", "db.update_all_rows"),
    ("SELECT * FROM (WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d) s", "db.delete_all_rows"),
    ("EXPLAIN (ANALYZE true, FORMAT JSON) DELETE FROM t", "db.delete_all_rows"),
    ("PREPARE p (int) AS UPDATE t SET a = $1", "db.update_all_rows"),
    ("EXECUTE never_prepared(1)", "db.dynamic_sql"),
    ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "db.merge_delete"),
    ("CALL archive_everything()", "db.call_procedure"),
    ("ALTER TABLE ONLY users DROP COLUMN IF EXISTS email CASCADE", "db.alter_drop"),
    ("GRANT admin TO intern", "db.grant"),
    ("CREATE ROLE hacker SUPERUSER LOGIN", "db.grant"),
    ("ALTER USER app WITH BYPASSRLS", "db.grant"),
    ("REASSIGN OWNED BY app TO intern", "db.grant"),
    ("SELECT pg_cancel_backend(pid) FROM pg_stat_activity", "db.terminate_backend"),
    ("SELECT count(*) FROM t WHERE pg_terminate_backend(42)", "db.terminate_backend"),
    ("SELECT pg_ls_dir('/etc')", "db.server_file_access"),
    ("COPY (SELECT 1) TO '/tmp/x'", "db.server_file_access"),
    ("LOAD '/tmp/evil.so'", "db.shell_escape"),
    ("CREATE FUNCTION sys(cstring) RETURNS int AS '/lib/libc.so.6', 'system' LANGUAGE c",
     "db.shell_escape"),
    ("DO $$ import os; os.system('id') $$ LANGUAGE plpython3u", "db.shell_escape"),
    ("SELECT dblink_exec('dbname=other', 'DROP TABLE t')", "db.drop_table"),
    ("SELECT dblink_exec('host=10.0.0.5', cmd) FROM q", "db.dynamic_sql"),
    ("SELECT * FROM dblink('conn', 'DELETE FROM t RETURNING id') AS x(id int)",
     "db.delete_all_rows"),
    ("SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')", "db.delete_all_rows"),
    ("VACUUM (FULL, ANALYZE) orders", "db.vacuum_full"),
    ("CREATE RULE r AS ON INSERT TO log DO ALSO DELETE FROM users", "db.delete_all_rows"),
    ("CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN TRUNCATE audit; END $$",
     "db.truncate"),
    ("CREATE FUNCTION f(t text) RETURNS void LANGUAGE plpgsql AS "
     "$$ BEGIN EXECUTE 'DROP TABLE ' || t; END $$", "db.dynamic_sql"),
    ("CREATE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM t $$", "db.delete_all_rows"),
    ("CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC DELETE FROM t; SELECT 1; END",
     "db.delete_all_rows"),
    ("DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$", "db.drop_table"),
    ("DO $$ BEGIN PERFORM pg_terminate_backend(1); END $$", "db.terminate_backend"),
    ("DO $$ DECLARE n int; BEGIN n := pg_terminate_backend(1)::int; END $$",
     "db.terminate_backend"),
    ("SELECT 1; DELEET FROM t; DROP TABLE x", "db.drop_table"),
    ("SELECT 1; DELEET FROM t", "db.unparsed"),
    ("SELECT 'a\\'; DROP TABLE t; -- '", "db.drop_table"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "operation"), CAUGHT)
def test_caught(sql: str, operation: str) -> None:
    assert operation in ops(sql)


LOOKALIKES = [
    "DELETE FROM t WHERE 1 = 0 OR id = 3",
    "DELETE FROM t WHERE id = 1 AND true",
    "DELETE FROM t WHERE name LIKE 'a%'",
    "DELETE FROM t WHERE id IS NULL",
    "DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)",
    "UPDATE t SET a = 1 WHERE a = b",
    "UPDATE t SET a = 1 WHERE id = $1",
    "EXPLAIN UPDATE t SET a = 1",
    "EXPLAIN (ANALYZE off) DELETE FROM t",
    "EXPLAIN ANALYZE SELECT * FROM t",
    "PREPARE p (int) AS DELETE FROM t WHERE id = $1; EXECUTE p(1)",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a",
    "CREATE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM t WHERE id = 1 $$; CALL p()",
    "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN DELETE FROM audit WHERE id = OLD.id; RETURN NEW; END $$",
    "CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b'",
    "ALTER TABLE users ADD COLUMN email text, ALTER COLUMN name SET NOT NULL",
    "ALTER TABLE users RENAME COLUMN a TO b",
    "CREATE ROLE reader NOLOGIN",
    "ALTER ROLE app NOSUPERUSER",
    "VACUUM ANALYZE orders",
    "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE",
    "SELECT id INTO TEMP scratch FROM users",
    "SELECT * FROM pg_stat_activity WHERE query LIKE '%pg_terminate_backend%'",
    "COPY users (id, name) FROM STDIN WITH (FORMAT csv)",
    "CREATE TABLE IF NOT EXISTS t (id bigint GENERATED ALWAYS AS IDENTITY)",
    "CREATE EXTENSION IF NOT EXISTS pgcrypto",
    "SELECT 'DROP TABLE x' AS drop_statement",
    "BEGIN; UPDATE t SET a = 1 WHERE id = 2; COMMIT;",
    "SET search_path TO app, public",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)",
    "SELECT 'a\\' AS backslash",
]


@pytest.mark.parametrize("sql", LOOKALIKES)
def test_lookalike_allowed(sql: str) -> None:
    assert ops(sql) == []


def test_parse_error_names_the_parser_message() -> None:
    (f,) = analyze("UPDATE t SET WHERE x = 1", "postgres", SCOPE)
    assert f.operation == "db.unparsed" and f.floor is Verdict.ASK
    assert "syntax error" in f.summary


def test_each_statement_has_its_own_evidence() -> None:
    found = analyze("SELECT 1; DROP TABLE é; TRUNCATE b", "postgres", SCOPE)
    assert [f.evidence for f in found] == ["DROP TABLE é", "TRUNCATE b"]


def test_plain_explain_and_prepare_notes() -> None:
    (f,) = analyze("PREPARE w AS DELETE FROM t", "postgres", SCOPE)
    assert "prepared as w" in f.summary
    (g,) = analyze("EXPLAIN ANALYZE DELETE FROM t", "postgres", SCOPE)
    assert "EXPLAIN ANALYZE runs it" in g.summary


def test_dblink_to_a_remote_host_is_that_hosts_environment() -> None:
    found = analyze("SELECT dblink_exec('host=db.example.com', 'DROP TABLE t')", "postgres", SCOPE)
    assert [f.environment for f in found] == ["unknown"]
    local = analyze("SELECT dblink_exec('host=localhost', 'DROP TABLE t')", "postgres", SCOPE)
    assert [f.environment for f in local] == ["staging"]


def test_copy_program_and_native_code_are_denied() -> None:
    for sql in ("COPY t FROM PROGRAM 'id'", "LOAD 'x.so'", "SELECT lo_export(1, '/tmp/x')"):
        assert [f.verdict for f in analyze(sql, "postgres", SCOPE)] == [Verdict.DENY]


def test_psql_commands_split_out_before_the_parser() -> None:
    found = ops("SELECT 1;\n\\o | sh\nSELECT 2;\n\\i drop.sql\nDROP TABLE t;")
    assert found == ["db.shell_escape", "db.include_file", "db.drop_table"]


def test_nested_too_deep_is_ask() -> None:
    inner = "DROP TABLE t"
    for _ in range(5):
        inner = "SELECT dblink_exec('x', " + "'" + inner.replace("'", "''") + "')"
    assert "db.unparsed" in ops(inner)
