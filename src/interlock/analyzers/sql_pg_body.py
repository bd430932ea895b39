"""The bodies of DO blocks and functions: PL/pgSQL read with PostgreSQL's own PL/pgSQL parser.

Internal to ``interlock.analyzers.sql``. A DO block runs now; a function runs when it is
called (a trigger, a ``CALL``, any query), so what either body would run is judged, with a
note saying where it was found. Each static statement in a PL/pgSQL body (``DELETE FROM t;``,
``PERFORM pg_terminate_backend(…)``, a condition, an assignment) goes through the same rules as
top-level SQL. ``EXECUTE`` of text built at run time cannot be followed: ask, floor ask. An
``EXECUTE 'literal'`` is judged as the SQL it is.

Other languages: ``LANGUAGE sql`` bodies are SQL; untrusted languages (``plpython3u``,
``plperlu``, …) run code with the server's operating-system rights (a DO block in one is a shell
on the database host: deny); trusted ones (plv8, plperl) run code Interlock does not read: ask.
A PL/pgSQL body the parser rejects is read by the lexical rules instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from interlock.analyzers.sql_pg_truth import const, unwrap
from interlock.decisions import Verdict

if TYPE_CHECKING:
    from interlock.analyzers.sql_context import Ctx
    from interlock.analyzers.sql_pg_rules import Walker

_UNTRUSTED = frozenset({"plpythonu", "plpython2u", "plpython3u", "plperlu", "pltclu", "plsh"})
_DYNAMIC = {"PLpgSQL_stmt_dynexecute": "query", "PLpgSQL_stmt_dynfors": "query",
            "PLpgSQL_stmt_open": "dynquery", "PLpgSQL_stmt_return_query": "dynquery"}  # fmt: skip


def judge_body(walker: Walker, language: str, body: str, create: str | None, note: str) -> None:
    """Judge ``body`` in ``language``; ``create`` is the whole CREATE FUNCTION text, if any."""
    from interlock.analyzers.sql_pg import dollar_quote, parse_and_walk, plpgsql_tree
    from interlock.analyzers.sql_statements import judge

    runs_now = create is None and note.startswith(" (inside a DO")
    if language == "sql":
        walker.out.extend(parse_and_walk(body, walker.ctx.inner(note=note)))
        return
    if language in _UNTRUSTED:
        walker.add(
            "db.shell_escape",
            f"runs {language} code with the database server's operating-system rights{note}",
            "sql.untrusted_language",
            verdict=Verdict.DENY if runs_now else Verdict.ASK,
            floor=Verdict.ASK,
        )
        return
    if language != "plpgsql":
        if not runs_now:  # a DO block is already asked about
            walker.add(
                "db.dynamic_sql",
                f"runs {language} code Interlock does not read{note}",
                "sql.dynamic",
                floor=Verdict.ASK,
            )
        return
    wrapped = "CREATE FUNCTION interlock_body() RETURNS void LANGUAGE plpgsql AS " + dollar_quote(
        body
    )
    tree: Any = None
    for text in (create, wrapped):
        if text is None:
            continue
        try:
            tree = plpgsql_tree(text)
            break
        except Exception:  # pglast's ParseError, or anything its compiler raises
            continue
    inner = walker.ctx.inner(note=note)
    if tree is None:
        walker.out.extend(judge(body, walker.ctx.inner(plpgsql=True, note=note)))
        return
    _walk(tree, walker, inner)


def _walk(value: Any, walker: Walker, ctx: Ctx) -> None:
    from interlock.analyzers.sql_pg import parse_and_walk

    if isinstance(value, list):
        for item in value:
            _walk(item, walker, ctx)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        if key in _DYNAMIC and isinstance(item, dict) and _DYNAMIC[key] in item:
            query = _query(item[_DYNAMIC[key]])
            literal = _literal(query, walker)
            if literal is None:
                walker.add(
                    "db.dynamic_sql",
                    "builds SQL at run time and EXECUTEs it" + ctx.note,
                    "sql.dynamic",
                    floor=Verdict.ASK,
                )
            else:
                walker.out.extend(parse_and_walk(literal, ctx.inner()))
        if key == "PLpgSQL_expr" and isinstance(item, dict):
            query, mode = str(item.get("query", "")), item.get("parseMode", 0)
            if mode == 0:
                walker.out.extend(parse_and_walk(query, ctx))
            else:
                _expression(query.partition(":=")[2] if mode >= 3 else query, walker, ctx)
            continue
        _walk(item, walker, ctx)


def _query(expr: Any) -> str:
    kind, f = unwrap(expr)
    return str(f.get("query", "")) if kind == "PLpgSQL_expr" else ""


def _literal(query: str, walker: Walker) -> str | None:
    """The text of ``EXECUTE 'DROP TABLE x'`` when the query is one string constant."""
    import json

    from pglast import parser

    try:
        tree = json.loads(parser.parse_sql_json("SELECT " + query))
        target = tree["stmts"][0]["stmt"]["SelectStmt"]["targetList"]
        value = const(target[0]["ResTarget"]["val"]) if len(target) == 1 else None
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _expression(text: str, walker: Walker, ctx: Ctx) -> None:
    """A PL/pgSQL condition or assignment: its function calls are judged; unreadable → lexer."""
    import json

    from pglast import parser

    from interlock.analyzers.sql_pg_rules import Walker as _Walker
    from interlock.analyzers.sql_statements import judge

    if not text.strip():
        return
    try:
        tree = json.loads(parser.parse_sql_json("SELECT " + text))
    except Exception:
        walker.out.extend(f for f in judge(text, ctx) if f.operation != "db.unparsed")
        return
    for item in tree.get("stmts", []):
        _Walker(ctx, walker.ev, walker.out, walker.text).visit(item.get("stmt"))
