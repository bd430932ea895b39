"""PostgreSQL judged on PostgreSQL's own parse tree (pglast, libpg_query's JSON).

Internal to ``interlock.analyzers.sql``. Replit's agent dropped a production database with
plain SQL (issue 2, ../shared/notes/anchors.md); the lexical rules of issue 2 found the words,
this reads the statements the server would run (issue 3). pglast got 52/52 PostgreSQL
statements right and rejected 7/7 invalid ones where sqlglot hid 11 in opaque nodes
(../shared/notes/deps.md §2). It is imported here, inside the function, only when SQL appears:
the hook's hot path imports the standard library and tree-sitter, nothing else.

How an input is read:

1. psql's backslash commands are not SQL. The lexer (``sql_lexer``) finds them, outside strings
   and comments, and ``sql_meta`` judges them; the SQL between them goes to the parser.
2. Each piece is parsed with ``parse_sql_json``; every statement is walked by
   ``sql_pg_rules`` (DROP, TRUNCATE, DML in any position, EXPLAIN ANALYZE, PREPARE, DO, …).
3. A piece the parser rejects is ``db.unparsed`` (floor ask) with the parser's message, *and*
   the lexical rules read it too: psql sends statements one at a time, so a DROP next to a typo
   still runs, and its finding must not be lost to the typo.
4. A backslash before a quote is read a second way by the lexer (``standard_conforming_strings
   = off`` makes ``'a\\'`` an unfinished string); its findings are kept too.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from interlock.analyzers.sql_context import Ctx, dedupe, short, too_deep
from interlock.analyzers.sql_lexer import lex
from interlock.analyzers.sql_meta import on_meta
from interlock.decisions import Finding, Verdict

MAX_DEPTH = 3
"""DO bodies, PREPARE, EXECUTE 'text', dblink and function bodies nest; deeper is ask."""


@cache
def available() -> bool:
    """Whether pglast can be imported (it is a dependency; without it the lexer judges)."""
    try:
        import pglast.parser  # noqa: F401
    except ImportError:
        return False
    return True


def judge_pg(sql: str, ctx: Ctx) -> list[Finding]:
    """Every statement and psql command of ``sql`` judged on PostgreSQL's parse tree."""
    from interlock.analyzers.sql_statements import judge

    if ctx.depth > MAX_DEPTH:
        return [too_deep(sql, ctx)]
    toks = lex(sql, "postgres", False)[0] if "\\" in sql else []  # psql commands: a backslash
    findings: list[Finding] = []
    start = 0
    for tok in toks:
        if tok.kind == "meta":
            findings += parse_and_walk(sql[start : tok.start], ctx)
            findings += on_meta(tok.text, short(tok.text), ctx)
            start = tok.end
    findings += parse_and_walk(sql[start:], ctx)
    if "\\'" in sql and ctx.depth == 0:
        other = judge(sql, ctx)  # the lexer, both readings of backslash escapes
        findings += [f for f in other if f.operation != "db.unparsed"]
    return dedupe(findings)


def parse_and_walk(sql: str, ctx: Ctx, *, expression: bool = False) -> list[Finding]:
    """Findings of one piece of SQL with no psql commands in it."""
    from pglast import parser

    from interlock.analyzers.sql_pg_rules import Walker

    if not sql.strip():
        return []
    if ctx.depth > MAX_DEPTH:
        return judge_pg(sql, ctx)  # says it is nested too deeply
    text = f"SELECT {sql}" if expression else sql
    try:
        tree = json.loads(parser.parse_sql_json(text))
    except parser.ParseError as error:
        return _unparsed(sql, str(error.args[0] if error.args else error), ctx)
    except (RecursionError, ValueError) as error:
        return _unparsed(sql, type(error).__name__, ctx)
    data = text.encode("utf-8", "surrogatepass")
    out: list[Finding] = []
    for item in tree.get("stmts", []):
        begin = item.get("stmt_location", 0)
        length = item.get("stmt_len")
        end = begin + length if length else len(data)
        whole = data[begin:end].decode("utf-8", "replace").strip()
        walker = Walker(ctx, short(whole), out, whole)
        try:
            walker.visit(item.get("stmt"))
        except RecursionError:
            out += _unparsed(sql, "nested too deeply", ctx)
    return out


def _unparsed(sql: str, message: str, ctx: Ctx) -> list[Finding]:
    """The parser's message as an ask, plus whatever the lexical rules still find in the text."""
    from interlock.analyzers.sql_statements import judge

    found = [
        ctx.find(
            "db.unparsed",
            f"contains SQL PostgreSQL's parser rejects: {message}",
            "sql.unparsed",
            short(sql),
            floor=Verdict.ASK,
        )
    ]
    second = judge(sql, ctx)
    return found + [f for f in second if f.operation != "db.unparsed"]


def plpgsql_tree(create_function: str) -> Any:
    """The PL/pgSQL tree of a ``CREATE FUNCTION … LANGUAGE plpgsql`` text; raises on error."""
    from pglast import parser

    return json.loads(parser.parse_plpgsql_json(create_function))


def dollar_quote(body: str) -> str:
    """``body`` as a dollar-quoted literal whose tag does not occur inside it."""
    tag, n = "$interlock$", 0
    while tag in body:
        n += 1
        tag = f"$interlock{n}$"
    return f"{tag}{body}{tag}"
