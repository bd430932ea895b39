"""SQL rules for statements that destroy data or hand out privileges.

Internal to ``interlock.analyzers.sql``. Replit's agent dropped a production database during a
code freeze with plain SQL (issue 2, ../shared/notes/anchors.md); these are the statements that
do that kind of damage inside the database: DROP (CASCADE and ``WITH (FORCE)`` named),
TRUNCATE, DELETE/UPDATE that reach every row (no WHERE, or one that is always true such as
``1=1`` or ``… OR 'a'='a'``), ALTER TABLE … DROP, ALTER SYSTEM, GRANT/REVOKE and ALTER ROLE
… SUPERUSER. Each is ask: the finding says what would be lost so a person can decide.
"""

from __future__ import annotations

import itertools

from interlock.analyzers.sql_context import Ctx
from interlock.analyzers.sql_lexer import Tok, is_op, kw, name_at, names_at, span_end, top_level
from interlock.decisions import Finding


def on_dml(toks: list[Tok], i: int, end: int, ev: str, ctx: Ctx) -> list[Finding]:
    """DELETE or UPDATE at ``i`` (ending at ``end``): flagged when it reaches every row."""
    verb = kw(toks, i)
    top = top_level(toks, i + 1, end)
    words = [kw(toks, j) for j in top]
    j = top[words.index("FROM")] + 1 if verb == "DELETE" and "FROM" in words else i + 1
    while kw(toks, j) in {
        "ONLY",
        "LOW_PRIORITY",
        "QUICK",
        "IGNORE",
        "OR",
        "REPLACE",
        "ABORT",
        "ROLLBACK",
        "FAIL",
    }:
        j += 1
    target, _ = name_at(toks, j)
    where = "WHERE" in words
    always = ""
    if where:
        w = top[words.index("WHERE")] + 1
        stop = [
            top[k]
            for k, word in enumerate(words)
            if word in {"RETURNING", "ORDER", "LIMIT"} and top[k] > w
        ]
        cond = toks[w : (stop[0] if stop else end)]
        if kw(cond, 0) == "CURRENT":
            return []
        if _always_true(cond):
            always = " (its WHERE is always true)"
        else:
            return []
    what = f"every row of {target or 'a table'}"
    targets = (target,) if target else ()
    if verb == "DELETE":
        return [
            ctx.find(
                "db.delete_all_rows",
                f"deletes {what}{always}",
                "sql.delete_all",
                ev,
                targets=targets,
                reversible=False,
            )
        ]
    return [
        ctx.find(
            "db.update_all_rows",
            f"updates {what}{always}",
            "sql.update_all",
            ev,
            targets=targets,
            reversible=False,
        )
    ]


def _always_true(cond: list[Tok]) -> bool:
    """``1=1``, ``true``, ``'a'='a'``, ``x = x``, ``NOT FALSE``, or any such disjunct of an OR."""
    while len(cond) >= 2 and is_op(cond, 0, "(") and span_end(cond, 1) == len(cond) - 1:
        cond = cond[1:-1]
    ors = [j for j in top_level(cond, 0, len(cond)) if kw(cond, j) == "OR"]
    if ors:
        bounds = [-1, *ors, len(cond)]
        return any(_always_true(cond[a + 1 : b]) for a, b in itertools.pairwise(bounds))
    texts = [t.text for t in cond]
    if texts in (["TRUE"], ["NOT", "FALSE"], ["NOT", "0"]) or (
        len(cond) == 1 and cond[0].kind == "num" and float(cond[0].text) != 0
    ):
        return True
    if len(cond) == 3 and cond[1].kind == "op":
        a, op, b = cond
        if a.kind == b.kind and a.text == b.text and op.text in ("=", "<=", ">="):
            return a.kind != "op"  # 1=1, 'a'='a', x=x (every row but NULLs)
        if a.kind == b.kind == "num":
            x, y = float(a.text), float(b.text)
            ops = {"<>": x != y, "!=": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}
            return ops.get(op.text, x == y if op.text == "=" else False)
        if a.kind == b.kind == "str" and op.text in ("<>", "!="):
            return a.text != b.text
    return False


_DROP_KINDS: dict[str, tuple[str, bool | None]] = {
    "TABLE": ("db.drop_table", False),
    "SCHEMA": ("db.drop_schema", False),
    "DATABASE": ("db.drop_database", False),
    "OWNED": ("db.drop_owned", False),
    "SEQUENCE": ("db.drop_sequence", False),
    "ROLE": ("db.drop_role", None),
    "USER": ("db.drop_role", None),
    "GROUP": ("db.drop_role", None),
    "INDEX": ("db.drop_index", True),
}
_TWO_WORD = frozenset({"MATERIALIZED", "FOREIGN", "EVENT", "ACCESS", "TEXT", "USER"})
_DROP_STOP = frozenset({"CASCADE", "RESTRICT", "ON", "WITH", "FROM", "IN"})


def on_drop(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    j = i + 1
    if kw(toks, j) == "TEMPORARY" or kw(toks, j) == "TEMP":
        return []  # MySQL's session-scoped tables: nothing outlives the session
    kind = kw(toks, j) or "OBJECT"
    if kind in _TWO_WORD and kw(toks, j + 1) and kw(toks, j + 1) not in {"IF"}:
        kind, j = f"{kind} {kw(toks, j + 1)}", j + 1
    if kind == "SCHEMA" and ctx.dialect == "mysql":
        kind = "DATABASE"  # a synonym there
    j += 1
    while kw(toks, j) in {"IF", "EXISTS", "CONCURRENTLY", "BY"}:
        j += 1
    names, _ = names_at(toks, j, _DROP_STOP)
    operation, reversible = _DROP_KINDS.get(
        kind, ("db.drop_" + kind.lower().replace(" ", "_"), None)
    )
    noun = kind.lower()
    rest = {t.text for t in toks[j:] if t.kind == "word"}
    what = ", ".join(names) or "an object"
    if kind == "OWNED":
        summary = f"drops every object owned by {what}"
    else:
        summary = f"drops {noun}{'s' if len(names) > 1 else ''} {what}"
    if "CASCADE" in rest:
        summary += ", and with CASCADE every object that depends on it"
        reversible = False if reversible is not True else None
    if kind == "DATABASE" and "FORCE" in rest:
        summary += ", forcibly disconnecting its sessions"
    if reversible is False:
        summary += "; the data is lost"
    return [ctx.find(operation, summary, "sql.drop", ev, targets=names, reversible=reversible)]


def on_truncate(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    j = i + 1
    while kw(toks, j) in {"TABLE", "ONLY"}:
        j += 1
    names, _ = names_at(toks, j, frozenset({"RESTART", "CONTINUE", "CASCADE", "RESTRICT"}))
    what = ", ".join(names) or "a table"
    return [
        ctx.find(
            "db.truncate",
            f"deletes every row of {what} (TRUNCATE)",
            "sql.truncate",
            ev,
            targets=names,
            reversible=False,
        )
    ]


def on_alter(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    kind = kw(toks, i + 1)
    if kind == "SYSTEM":
        return [
            ctx.find(
                "db.alter_system",
                "changes the database server's configuration",
                "sql.alter_system",
                ev,
            )
        ]
    if kind in {"ROLE", "USER"}:
        granted = {t.text for t in toks if t.kind == "word"} & {
            "SUPERUSER",
            "CREATEROLE",
            "BYPASSRLS",
            "REPLICATION",
        }
        if granted:
            name, _ = name_at(toks, i + 2)
            return [
                ctx.find(
                    "db.grant",
                    f"gives role {name} {', '.join(sorted(granted)).lower()}",
                    "sql.grant",
                    ev,
                    targets=(name,),
                )
            ]
        return []
    if kind != "TABLE":
        return []
    j = i + 2
    while kw(toks, j) in {"IF", "EXISTS", "ONLY"}:
        j += 1
    table, _ = name_at(toks, j)
    out = []
    top = top_level(toks, j, len(toks))
    for k, idx in enumerate(top):
        if kw(toks, idx) != "DROP" or k + 1 >= len(top):
            continue
        what = kw(toks, top[k + 1])
        if what in {"DEFAULT", "NOT", "IDENTITY", "EXPRESSION"}:
            continue
        if what in {"CONSTRAINT", "INDEX", "KEY", "PRIMARY", "FOREIGN", "CHECK"}:
            summary, reversible = f"drops a {what.lower()} of table {table}", None
        else:
            col_at = (
                top[k + 2] if what in {"COLUMN", "PARTITION"} and k + 2 < len(top) else top[k + 1]
            )
            col, _ = name_at(toks, col_at)
            noun = "partition" if what == "PARTITION" else "column"
            summary, reversible = f"drops {noun} {col} of table {table}; its data is lost", False
        out.append(
            ctx.find(
                "db.alter_drop",
                summary,
                "sql.alter_drop",
                ev,
                targets=(table,),
                reversible=reversible,
            )
        )
    return out


def on_grant(toks: list[Tok], i: int, ev: str, ctx: Ctx) -> list[Finding]:
    verb = kw(toks, i)
    top = top_level(toks, i, len(toks))
    to = [idx for idx in top if kw(toks, idx) in {"TO", "FROM"}]
    names = (
        names_at(toks, to[-1] + 1, frozenset({"WITH", "GRANTED", "CASCADE", "RESTRICT"}))[0]
        if to
        else ()
    )
    who = ", ".join(names) or "a role"
    if verb == "GRANT":
        return [ctx.find("db.grant", f"grants privileges to {who}", "sql.grant", ev, targets=names)]
    return [
        ctx.find("db.revoke", f"revokes privileges from {who}", "sql.revoke", ev, targets=names)
    ]
