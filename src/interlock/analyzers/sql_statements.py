"""Judging SQL statement by statement, and the statements that hold other statements.

Internal to ``interlock.analyzers.sql``. ``judge`` lexes an input, splits it on ``;`` and hands
each statement to the rule for its first word (``_HEADS``); DELETE/UPDATE inside parentheses
and function calls are looked for anywhere in a statement, so ``WITH x AS (DELETE FROM t)``
and ``SELECT pg_terminate_backend(…)`` are not hidden by what comes first.

The statements that contain SQL live here too, because they re-enter ``judge``: a DO body,
``PREPARE … AS``/``FROM 'text'``, ``EXECUTE 'text'`` and ``EXPLAIN ANALYZE`` (which runs what
it explains). Each re-entry goes one level deeper, and past ``_MAX_DEPTH`` the input is ask.
What cannot be followed (``EXECUTE`` of a statement not prepared in this input, ``PREPARE …
FROM @var``, a DO block itself) is ask with floor ask: not understood is not harmless.

A string holding a backslash before a quote is judged twice, with and without backslash
escapes, and the findings of both readings kept: ``standard_conforming_strings`` and
``NO_BACKSLASH_ESCAPES`` decide on the server which reading is true.
"""

from __future__ import annotations

from interlock.analyzers.sql_context import Ctx, dedupe, short, too_deep
from interlock.analyzers.sql_destructive import on_alter, on_dml, on_drop, on_grant, on_truncate
from interlock.analyzers.sql_lexer import (
    Tok,
    is_op,
    kw,
    lex,
    name_at,
    span_end,
    split_statements,
    top_level,
)
from interlock.analyzers.sql_meta import on_client, on_meta
from interlock.analyzers.sql_server import (
    on_attach,
    on_call,
    on_copy,
    on_into_outfile,
    on_set,
    on_shutdown,
)
from interlock.decisions import Finding, Verdict

_MAX_DEPTH = 3
"""DO bodies, PREPARE … FROM 'text' and EXECUTE 'text' nest; deeper than this is ask."""


def judge(sql: str, ctx: Ctx) -> list[Finding]:
    """Every statement of ``sql`` judged; also used for DO bodies and prepared text."""
    if ctx.depth > _MAX_DEPTH:
        return [too_deep(sql, ctx)]
    findings = _pass(sql, ctx, escapes=ctx.dialect == "mysql")
    if "\\'" in sql or '\\"' in sql:
        other = _pass(sql, ctx, escapes=ctx.dialect != "mysql")
        findings = dedupe(findings + [f for f in other if f.operation != "db.unparsed"])
    return findings


def _pass(sql: str, ctx: Ctx, *, escapes: bool) -> list[Finding]:
    toks, error = lex(sql, ctx.dialect, escapes)
    findings: list[Finding] = []
    for stmt in split_statements(toks):
        findings.extend(judge_statement(stmt, short(sql[stmt[0].start : stmt[-1].end]), ctx))
    if error is not None:
        findings.append(
            ctx.find(
                "db.unparsed",
                f"contains SQL Interlock cannot read: {error}",
                "sql.unparsed",
                short(sql),
                floor=Verdict.ASK,
            )
        )
    return findings


_BLOCK_WORDS = frozenset({"BEGIN", "THEN", "ELSE", "LOOP", "DECLARE", "EXCEPTION"})
_DML = frozenset({"DELETE", "UPDATE"})


def judge_statement(toks: list[Tok], ev: str, ctx: Ctx) -> list[Finding]:
    """One statement's findings; ``ev`` is its text, shown as evidence."""
    if not toks:
        return []
    if toks[0].kind == "meta":
        return on_meta(toks[0].text, ev, ctx)
    i = 0
    if ctx.plpgsql:  # inside a DO body: the statement follows the last block keyword
        for j in top_level(toks, 0, len(toks)):
            if kw(toks, j) in _BLOCK_WORDS:
                i = j + 1
        if i >= len(toks):
            return []
    while is_op(toks, i, "("):
        i += 1
    findings = _head(toks, i, ev, ctx)
    for j in range(i, len(toks) - 1):
        if is_op(toks, j, "(") and kw(toks, j + 1) in _DML and kw(toks, i) != "CREATE":
            findings += on_dml(toks, j + 1, span_end(toks, j + 1), ev, ctx)
        elif toks[j + 1].kind == "op" and toks[j + 1].text == "(":
            findings += on_call(toks[j], ev, ctx)
    findings += on_into_outfile(toks, i, ev, ctx)
    return findings


def _head(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    head = kw(toks, i)
    if head in _DML:
        return on_dml(toks, i, len(toks), ev, ctx)
    if head == "WITH":  # the main statement follows the CTE list; CTE bodies are found by "("
        for j in top_level(toks, i + 1, len(toks)):
            if kw(toks, j) in _DML | {"SELECT", "INSERT", "MERGE", "VALUES", "TABLE"}:
                return on_dml(toks, j, len(toks), ev, ctx) if kw(toks, j) in _DML else []
        return []
    handler = _HEADS.get(head)
    return handler(toks, i, ev, ctx) if handler else []


# ------------------------------------------------------- statements that hold statements


def _do(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    body = next((t.text for t in toks[i + 1 :] if t.kind == "str"), "")
    found = [
        ctx.find(
            "db.dynamic_sql",
            "runs a procedural DO block Interlock cannot fully follow",
            "sql.do_block",
            ev,
            floor=Verdict.ASK,
        )
    ]
    return found + judge(body, ctx.inner(plpgsql=True, note=" (inside a DO block)"))


def _prepare(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    name, j = name_at(toks, i + 1)
    ctx.prepared.add(name)
    if is_op(toks, j, "("):
        j = span_end(toks, j + 1) + 1
    note = f" (prepared as {name}; it runs on EXECUTE)"
    if kw(toks, j) == "AS":
        return judge_statement(toks[j + 1 :], ev, ctx.inner(note=note))
    if kw(toks, j) == "FROM" and j + 1 < len(toks) and toks[j + 1].kind == "str":
        return judge(toks[j + 1].text, ctx.inner(note=note))
    return [
        ctx.find(
            "db.dynamic_sql",
            f"prepares statement {name} from text built at run time",
            "sql.dynamic",
            ev,
            floor=Verdict.ASK,
        )
    ]


def _execute(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    j = i + 1 + (kw(toks, i + 1) == "IMMEDIATE")
    if j < len(toks) and toks[j].kind == "str" and len(toks) == j + 1:
        return judge(toks[j].text, ctx.inner(plpgsql=False))
    name, _ = name_at(toks, j)
    if name and name in ctx.prepared and toks[j].kind == "word":
        return []  # its PREPARE in this input was judged already
    return [
        ctx.find(
            "db.dynamic_sql",
            "executes SQL whose text is not in this input",
            "sql.dynamic",
            ev,
            floor=Verdict.ASK,
        )
    ]


def _explain(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    """EXPLAIN ANALYZE runs the statement it explains; plain EXPLAIN does not."""
    j, runs = i + 1, False
    if is_op(toks, j, "("):
        end = span_end(toks, j + 1)
        opts = [t.text for t in toks[j + 1 : end]]
        for k, word in enumerate(opts):
            if word in {"ANALYZE", "ANALYSE"}:
                runs = k + 1 >= len(opts) or opts[k + 1] not in {"FALSE", "OFF", "0"}
        j = end + 1
    while kw(toks, j) in {
        "ANALYZE",
        "ANALYSE",
        "VERBOSE",
        "FORMAT",
        "EXTENDED",
        "JSON",
        "TREE",
        "TRADITIONAL",
        "=",
    }:
        runs = runs or kw(toks, j) in {"ANALYZE", "ANALYSE"}
        j += 1
    if not runs or j >= len(toks):
        return []
    return judge_statement(toks[j:], ev, ctx.inner(note=" (EXPLAIN ANALYZE runs it)"))


# The rule for each first word; other statements are judged only by the scans in
# judge_statement (DELETE/UPDATE in parentheses, function calls, INTO OUTFILE).
_HEADS = {
    "DROP": on_drop,
    "TRUNCATE": on_truncate,
    "ALTER": on_alter,
    "GRANT": on_grant,
    "REVOKE": on_grant,
    "COPY": on_copy,
    "DO": _do,
    "PREPARE": _prepare,
    "EXECUTE": _execute,
    "EXPLAIN": _explain,
    "SYSTEM": on_client,
    "SOURCE": on_client,
    "SHUTDOWN": on_shutdown,
    "SET": on_set,
    "ATTACH": on_attach,
}
