"""SQL, Redis and MongoDB analysis: which statements destroy data, escape to a shell or cannot be read.

Replit's agent dropped a production database during a code freeze with plain SQL (issue 2 and
../shared/notes/anchors.md), so SQL handed to psql, mysql, sqlite3, redis-cli or mongosh is an
action of its own. PostgreSQL is read on PostgreSQL's own parse tree (pglast, issue 3:
``sql_pg``); MySQL/MariaDB and SQLite by a small dialect-aware lexer that removes comments and
string contents, so ``SELECT 'DROP TABLE users'`` is harmless while ``DROP TABLE users`` is not
(sqlglot was weighed for them and not taken: docs/analyzers.md says why).

Fail-closed choices, each a known evasion:

- an unterminated string, quoted identifier or comment is ``db.unparsed`` (ask): the server
  would reject it or read it differently from us;
- MySQL executes ``/*! … */`` comments, and ``--`` is a comment there only before a space, so
  the MySQL lexer follows those rules rather than PostgreSQL's; block comments nest only in
  PostgreSQL;
- a string holding a backslash before a quote is lexed twice (with and without backslash
  escapes) and the findings of both readings kept, because ``standard_conforming_strings`` and
  ``NO_BACKSLASH_ESCAPES`` decide on the server which reading is true;
- DO blocks, EXECUTE of text built at run time and psql's ``\\gexec`` are ask: not understood.

This module is the public facade; the work is done in private modules, one concept each:

- ``sql_pg``: PostgreSQL on pglast's parse tree; ``sql_pg_rules`` (one handler per node type),
  ``sql_pg_truth`` (is a WHERE always true?), ``sql_pg_body`` (DO blocks and function bodies);
- ``sql_lexer``: the dialect-aware lexer and the token helpers rules use;
- ``sql_context``: ``Ctx``, the state of one input, and how a rule makes a Finding;
- ``sql_statements``: splitting into statements, dispatch on the first word, and the
  statements that hold statements (DO, PREPARE, EXECUTE, EXPLAIN ANALYZE);
- ``sql_destructive``: DROP, TRUNCATE, DELETE/UPDATE of every row, ALTER, GRANT/REVOKE;
- ``sql_server``: server files, COPY … PROGRAM, server configuration and sessions;
- ``sql_meta``: psql/mysql/sqlite3 client commands (``\\!``, ``\\i``, ``.shell``, …);
- ``sql_nosql``: redis-cli commands and mongosh JavaScript.
"""

from __future__ import annotations

from interlock.analyzers import Scope
from interlock.analyzers.sql_context import Ctx, dedupe
from interlock.analyzers.sql_nosql import analyze_mongo, analyze_redis
from interlock.analyzers.sql_pg import available, judge_pg
from interlock.analyzers.sql_statements import judge
from interlock.decisions import Finding

__all__ = ["DIALECTS", "analyze"]

DIALECTS = frozenset({"postgres", "mysql", "sqlite", "redis", "mongodb"})
_ALIASES = {"postgresql": "postgres", "psql": "postgres", "mariadb": "mysql", "sqlite3": "sqlite"}


def analyze(sql: str, dialect: str, scope: Scope) -> list[Finding]:
    """Findings for ``sql`` sent to a client of ``dialect``; an empty list means nothing risky.

    An unknown dialect is not guessed at: the text is read as PostgreSQL *and* MySQL and the
    findings of both kept, so a wrong label cannot hide a statement.
    """
    name = _ALIASES.get(dialect.lower(), dialect.lower())
    if name == "redis":
        return analyze_redis(sql, Ctx("redis", scope))
    if name == "mongodb":
        return analyze_mongo(sql, Ctx("mongodb", scope))
    if name not in DIALECTS:
        both = judge(sql, Ctx("postgres", scope)) + judge(sql, Ctx("mysql", scope))
        if available():
            parsed = judge_pg(sql, Ctx("postgres", scope))
            both += [f for f in parsed if f.operation != "db.unparsed"]
        return dedupe(both)
    if name == "postgres" and available():
        return judge_pg(sql, Ctx(name, scope))
    return judge(sql, Ctx(name, scope))
