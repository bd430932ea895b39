"""SQL, Redis and MongoDB analysis: which statements destroy data, escape to a shell or cannot be read.

Replit's agent dropped a production database during a code freeze with plain SQL (issue 2 and
../shared/notes/anchors.md), so SQL handed to psql, mysql, sqlite3, redis-cli or mongosh is an
action of its own. This first version is lexical and conservative: a small hand-written lexer
removes comments and string contents, so ``SELECT 'DROP TABLE users'`` is harmless while
``DROP TABLE users`` is not. PostgreSQL's own parser (pglast) replaces the keyword rules in
issue 3; until then every rule leans towards asking.

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

Redis commands and MongoDB shell JavaScript are handled at the end of the module: a handful of
command words and method calls, with strings and comments masked the same way.
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from interlock.analyzers import Scope
from interlock.decisions import Finding, Verdict

if TYPE_CHECKING:
    from interlock.analyzers.interpreters import Token

__all__ = ["DIALECTS", "analyze"]

DIALECTS = frozenset({"postgres", "mysql", "sqlite", "redis", "mongodb"})
_ALIASES = {"postgresql": "postgres", "psql": "postgres", "mariadb": "mysql", "sqlite3": "sqlite"}
_MAX_DEPTH = 3
"""DO bodies, PREPARE … FROM 'text' and EXECUTE 'text' nest; deeper than this is ask."""


def analyze(sql: str, dialect: str, scope: Scope) -> list[Finding]:
    """Findings for ``sql`` sent to a client of ``dialect``; an empty list means nothing risky.

    An unknown dialect is not guessed at: the text is read as PostgreSQL *and* MySQL and the
    findings of both kept, so a wrong label cannot hide a statement.
    """
    name = _ALIASES.get(dialect.lower(), dialect.lower())
    if name == "redis":
        return _redis(sql, _Ctx("redis", scope))
    if name == "mongodb":
        return _mongo(sql, _Ctx("mongodb", scope))
    if name not in DIALECTS:
        both = _text(sql, _Ctx("postgres", scope)) + _text(sql, _Ctx("mysql", scope))
        return _dedupe(both)
    return _text(sql, _Ctx(name, scope))


@dataclass
class _Ctx:
    """State shared by the statements of one input: dialect, scope, prepared statement names."""

    dialect: str
    scope: Scope
    depth: int = 0
    plpgsql: bool = False
    note: str = ""
    prepared: set[str] = field(default_factory=set)

    def find(
        self,
        operation: str,
        summary: str,
        rule: str,
        evidence: str,
        *,
        targets: tuple[str, ...] = (),
        reversible: bool | None = None,
        verdict: Verdict = Verdict.ASK,
        floor: Verdict = Verdict.ALLOW,
    ) -> Finding:
        return Finding(
            operation=operation,
            summary=summary + self.note,
            verdict=verdict,
            rule=rule,
            targets=targets,
            environment=self.scope.environment,
            reversible=reversible,
            evidence=evidence,
            floor=floor,
        )

    def inner(self, *, plpgsql: bool | None = None, note: str | None = None) -> _Ctx:
        return _Ctx(
            self.dialect,
            self.scope,
            self.depth + 1,
            self.plpgsql if plpgsql is None else plpgsql,
            self.note if note is None else note,
            self.prepared,
        )


def _short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.operation, f.targets)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


# ---------------------------------------------------------------------------------- the lexer


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    """word (upper-cased), qident, str, num, op, meta (a psql/mysql/sqlite client command)."""
    text: str
    start: int
    end: int


_SIMPLE = re.compile(
    r"(?P<ws>\s+)|(?P<word>[^\W\d][\w$]*)|(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)"
    r"|(?P<op><>|!=|<=|>=|::|\|\||.)",
    re.DOTALL,
)
_DOLLAR = re.compile(r"\$([^\W\d]\w*)?\$")


def _lex(sql: str, dialect: str, escapes: bool) -> tuple[list[_Tok], str | None]:
    """Tokens without comments; string contents kept as one token. Second item: an error."""
    toks: list[_Tok] = []
    i, n = 0, len(sql)
    line_start = True  # sqlite dot-commands start a line
    exec_comment = False  # inside MySQL's /*! … */, whose contents run
    mysql, pg = dialect == "mysql", dialect == "postgres"
    while i < n:
        c = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if c == "\n":
            line_start = True
            i += 1
            continue
        if c in " \t\r\f":
            i += 1
            continue
        at_line_start, line_start = line_start, False
        if (c == "-" and nxt == "-" and (not mysql or i + 2 >= n or sql[i + 2].isspace())) or (
            c == "#" and mysql
        ):
            j = sql.find("\n", i)
            i = n if j < 0 else j
        elif c == "/" and nxt == "*":
            if mysql and sql.startswith(("/*!", "/*M!"), i):
                exec_comment = True
                m = re.compile(r"/\*M?!\d*").match(sql, i)
                i = m.end() if m else i + 3
                continue
            end = _comment_end(sql, i, nested=pg)
            if end < 0:
                return toks, "a /* comment is never closed"
            i = end
        elif c == "*" and nxt == "/" and exec_comment:
            exec_comment = False
            i += 2
        elif c == "'" or (c == '"' and mysql):
            e_prefix = bool(toks) and toks[-1].kind == "word" and toks[-1].text == "E"
            e_prefix = e_prefix and toks[-1].end == i and pg
            if e_prefix:
                toks.pop()
            end, text = _quoted(sql, i, c, escapes or e_prefix)
            if end < 0:
                return toks, "a string is never closed"
            toks.append(_Tok("str", text, i, end))
            i = end
        elif c == '"' or (c == "`" and not pg) or (c == "[" and dialect == "sqlite"):
            close = "]" if c == "[" else c
            end, text = _quoted(sql, i, close, False)
            if end < 0:
                return toks, "a quoted name is never closed"
            toks.append(_Tok("qident", text, i, end))
            i = end
        elif c == "$" and pg and (m := _DOLLAR.match(sql, i)) and not _ident_before(sql, i):
            stop = sql.find(m.group(0), m.end())
            if stop < 0:
                return toks, "a $-quoted string is never closed"
            toks.append(_Tok("str", sql[m.end() : stop], i, stop + len(m.group(0))))
            i = stop + len(m.group(0))
        elif (c == "\\" and dialect != "sqlite") or (
            c == "." and at_line_start and dialect == "sqlite"
        ):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            toks.append(_Tok("meta", sql[i:j].strip(), i, j))
            i = j
        else:
            m = _SIMPLE.match(sql, i)
            assert m is not None  # the last alternative matches any character
            kind = m.lastgroup or "op"
            text = m.group(0).upper() if kind == "word" else m.group(0)
            toks.append(_Tok(kind, text, i, m.end()))
            i = m.end()
    return toks, None


def _comment_end(sql: str, i: int, *, nested: bool) -> int:
    if not nested:
        j = sql.find("*/", i + 2)
        return -1 if j < 0 else j + 2
    depth, j = 0, i
    while j < len(sql):
        if sql.startswith("/*", j):
            depth, j = depth + 1, j + 2
        elif sql.startswith("*/", j):
            depth, j = depth - 1, j + 2
            if depth == 0:
                return j
        else:
            j += 1
    return -1


def _quoted(sql: str, i: int, close: str, escapes: bool) -> tuple[int, str]:
    """End offset and contents of the quoted text opening at ``i``; -1 when never closed."""
    out, j = [], i + 1
    while j < len(sql):
        c = sql[j]
        if escapes and c == "\\" and j + 1 < len(sql):
            out.append(sql[j + 1])
            j += 2
        elif c == close:
            if sql.startswith(close, j + 1) and close != "]":
                out.append(close)
                j += 2
            else:
                return j + 1, "".join(out)
        else:
            out.append(c)
            j += 1
    return -1, ""


def _ident_before(sql: str, i: int) -> bool:
    return i > 0 and (sql[i - 1].isalnum() or sql[i - 1] in "_$")


def _statements(toks: list[_Tok]) -> list[list[_Tok]]:
    out: list[list[_Tok]] = []
    cur: list[_Tok] = []
    for t in toks:
        if t.kind == "op" and t.text == ";":
            if cur:
                out.append(cur)
            cur = []
        elif t.kind == "meta":
            if cur:
                out.append(cur)
            out.append([t])
            cur = []
        else:
            cur.append(t)
    if cur:
        out.append(cur)
    return out


# ------------------------------------------------------------------------- SQL statement rules


def _text(sql: str, ctx: _Ctx) -> list[Finding]:
    """Every statement of ``sql`` judged; also used for DO bodies and prepared text."""
    if ctx.depth > _MAX_DEPTH:
        return [
            ctx.find(
                "db.unparsed",
                "runs SQL nested too deeply to follow",
                "sql.too_deep",
                _short(sql),
                floor=Verdict.ASK,
            )
        ]
    findings = _pass(sql, ctx, escapes=ctx.dialect == "mysql")
    if "\\'" in sql or '\\"' in sql:
        other = _pass(sql, ctx, escapes=ctx.dialect != "mysql")
        findings = _dedupe(findings + [f for f in other if f.operation != "db.unparsed"])
    return findings


def _pass(sql: str, ctx: _Ctx, *, escapes: bool) -> list[Finding]:
    toks, error = _lex(sql, ctx.dialect, escapes)
    findings: list[Finding] = []
    for stmt in _statements(toks):
        findings.extend(_statement(stmt, _short(sql[stmt[0].start : stmt[-1].end]), ctx))
    if error is not None:
        findings.append(
            ctx.find(
                "db.unparsed",
                f"contains SQL Interlock cannot read: {error}",
                "sql.unparsed",
                _short(sql),
                floor=Verdict.ASK,
            )
        )
    return findings


def _w(toks: list[_Tok], i: int) -> str:
    """The keyword at ``i``, or "" when it is not a bare word (or past the end)."""
    return toks[i].text if i < len(toks) and toks[i].kind == "word" else ""


def _is(toks: list[_Tok], i: int, op: str) -> bool:
    return i < len(toks) and toks[i].kind == "op" and toks[i].text == op


def _span_end(toks: list[_Tok], i: int) -> int:
    """Index of the ``)`` closing the group ``i`` is in, or len(toks) at top level."""
    depth = 0
    for j in range(i, len(toks)):
        if _is(toks, j, "("):
            depth += 1
        elif _is(toks, j, ")"):
            depth -= 1
            if depth < 0:
                return j
    return len(toks)


def _top(toks: list[_Tok], start: int, end: int) -> list[int]:
    """Indexes in [start, end) at parenthesis depth 0."""
    out, depth = [], 0
    for j in range(start, end):
        if _is(toks, j, "("):
            depth += 1
        elif _is(toks, j, ")"):
            depth -= 1
        elif depth == 0:
            out.append(j)
    return out


def _name(toks: list[_Tok], i: int) -> tuple[str, int]:
    """A possibly qualified name (``public."Users"``) starting at ``i``, and the index after it."""
    parts: list[str] = []
    while i < len(toks) and toks[i].kind in ("word", "qident", "str"):
        parts.append(toks[i].text.lower() if toks[i].kind == "word" else toks[i].text)
        if _is(toks, i + 1, ".") and i + 2 < len(toks):
            i += 2
        else:
            return ".".join(parts), i + 1
    return ".".join(parts), i


def _names(toks: list[_Tok], i: int, stop: frozenset[str]) -> tuple[tuple[str, ...], int]:
    names: list[str] = []
    while i < len(toks) and _w(toks, i) not in stop:
        name, j = _name(toks, i)
        if name:
            names.append(name)
        i = j if j > i else i + 1
        if _is(toks, i, "*"):
            i += 1
        if not _is(toks, i, ","):
            break
        i += 1
    return tuple(names), i


_BLOCK_WORDS = frozenset({"BEGIN", "THEN", "ELSE", "LOOP", "DECLARE", "EXCEPTION"})
_DML = frozenset({"DELETE", "UPDATE"})


def _statement(toks: list[_Tok], ev: str, ctx: _Ctx) -> list[Finding]:
    """One statement's findings; ``ev`` is its text, shown as evidence."""
    if not toks:
        return []
    if toks[0].kind == "meta":
        return _meta(toks[0].text, ev, ctx)
    i = 0
    if ctx.plpgsql:  # inside a DO body: the statement follows the last block keyword
        for j in _top(toks, 0, len(toks)):
            if _w(toks, j) in _BLOCK_WORDS:
                i = j + 1
        if i >= len(toks):
            return []
    while _is(toks, i, "("):
        i += 1
    findings = _head(toks, i, ev, ctx)
    for j in range(i, len(toks) - 1):
        if _is(toks, j, "(") and _w(toks, j + 1) in _DML and _w(toks, i) != "CREATE":
            findings += _dml(toks, j + 1, _span_end(toks, j + 1), ev, ctx)
        elif toks[j + 1].kind == "op" and toks[j + 1].text == "(":
            findings += _function(toks[j], ev, ctx)
    if ctx.dialect == "mysql":
        top = [_w(toks, j) for j in _top(toks, i, len(toks))]
        if "INTO" in top and ("OUTFILE" in top or "DUMPFILE" in top):
            findings.append(
                ctx.find(
                    "db.server_file_access",
                    "writes query results to a file on the database server",
                    "sql.server_file",
                    ev,
                    verdict=Verdict.DENY,
                )
            )
    return findings


def _head(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    head = _w(toks, i)
    if head in _DML:
        return _dml(toks, i, len(toks), ev, ctx)
    if head == "WITH":  # the main statement follows the CTE list; CTE bodies are found by "("
        for j in _top(toks, i + 1, len(toks)):
            if _w(toks, j) in _DML | {"SELECT", "INSERT", "MERGE", "VALUES", "TABLE"}:
                return _dml(toks, j, len(toks), ev, ctx) if _w(toks, j) in _DML else []
        return []
    handler = _HEADS.get(head)
    return handler(toks, i, ev, ctx) if handler else []


def _dml(toks: list[_Tok], i: int, end: int, ev: str, ctx: _Ctx) -> list[Finding]:
    """DELETE or UPDATE at ``i`` (ending at ``end``): flagged when it reaches every row."""
    verb = _w(toks, i)
    top = _top(toks, i + 1, end)
    words = [_w(toks, j) for j in top]
    j = top[words.index("FROM")] + 1 if verb == "DELETE" and "FROM" in words else i + 1
    while _w(toks, j) in {
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
    target, _ = _name(toks, j)
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
        if _w(cond, 0) == "CURRENT":
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


_CONST = frozenset({"num", "str"})


def _always_true(cond: list[_Tok]) -> bool:
    """``1=1``, ``true``, ``'a'='a'``, ``x = x``, ``NOT FALSE``, or any such disjunct of an OR."""
    while len(cond) >= 2 and _is(cond, 0, "(") and _span_end(cond, 1) == len(cond) - 1:
        cond = cond[1:-1]
    ors = [j for j in _top(cond, 0, len(cond)) if _w(cond, j) == "OR"]
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


def _drop(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    j = i + 1
    if _w(toks, j) == "TEMPORARY" or _w(toks, j) == "TEMP":
        return []  # MySQL's session-scoped tables: nothing outlives the session
    kind = _w(toks, j) or "OBJECT"
    if kind in _TWO_WORD and _w(toks, j + 1) and _w(toks, j + 1) not in {"IF"}:
        kind, j = f"{kind} {_w(toks, j + 1)}", j + 1
    if kind == "SCHEMA" and ctx.dialect == "mysql":
        kind = "DATABASE"  # a synonym there
    j += 1
    while _w(toks, j) in {"IF", "EXISTS", "CONCURRENTLY", "BY"}:
        j += 1
    names, _ = _names(toks, j, _DROP_STOP)
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


def _truncate(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    j = i + 1
    while _w(toks, j) in {"TABLE", "ONLY"}:
        j += 1
    names, _ = _names(toks, j, frozenset({"RESTART", "CONTINUE", "CASCADE", "RESTRICT"}))
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


def _alter(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    kind = _w(toks, i + 1)
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
            name, _ = _name(toks, i + 2)
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
    while _w(toks, j) in {"IF", "EXISTS", "ONLY"}:
        j += 1
    table, _ = _name(toks, j)
    out = []
    top = _top(toks, j, len(toks))
    for k, idx in enumerate(top):
        if _w(toks, idx) != "DROP" or k + 1 >= len(top):
            continue
        what = _w(toks, top[k + 1])
        if what in {"DEFAULT", "NOT", "IDENTITY", "EXPRESSION"}:
            continue
        if what in {"CONSTRAINT", "INDEX", "KEY", "PRIMARY", "FOREIGN", "CHECK"}:
            summary, reversible = f"drops a {what.lower()} of table {table}", None
        else:
            col_at = (
                top[k + 2] if what in {"COLUMN", "PARTITION"} and k + 2 < len(top) else top[k + 1]
            )
            col, _ = _name(toks, col_at)
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


def _grant(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    verb = _w(toks, i)
    top = _top(toks, i, len(toks))
    to = [idx for idx in top if _w(toks, idx) in {"TO", "FROM"}]
    names = (
        _names(toks, to[-1] + 1, frozenset({"WITH", "GRANTED", "CASCADE", "RESTRICT"}))[0]
        if to
        else ()
    )
    who = ", ".join(names) or "a role"
    if verb == "GRANT":
        return [ctx.find("db.grant", f"grants privileges to {who}", "sql.grant", ev, targets=names)]
    return [
        ctx.find("db.revoke", f"revokes privileges from {who}", "sql.revoke", ev, targets=names)
    ]


def _copy(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    top = _top(toks, i, len(toks))
    for k, idx in enumerate(top):
        if _w(toks, idx) in {"TO", "FROM"} and k + 1 < len(top):
            nxt = toks[top[k + 1]]
            if nxt.kind == "word" and nxt.text == "PROGRAM":
                cmd = toks[top[k + 2]].text if k + 2 < len(top) else ""
                return [
                    ctx.find(
                        "db.shell_escape",
                        f"runs the shell command {cmd!r} on the database server",
                        "sql.copy_program",
                        ev,
                        targets=(cmd,),
                        verdict=Verdict.DENY,
                    )
                ]
            if nxt.kind == "str":
                return [
                    ctx.find(
                        "db.server_file_access",
                        f"reads or writes the server file {nxt.text}",
                        "sql.server_file",
                        ev,
                        targets=(nxt.text,),
                        verdict=Verdict.DENY,
                    )
                ]
    return []


def _do(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
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
    return found + _text(body, ctx.inner(plpgsql=True, note=" (inside a DO block)"))


def _prepare(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    name, j = _name(toks, i + 1)
    ctx.prepared.add(name)
    if _is(toks, j, "("):
        j = _span_end(toks, j + 1) + 1
    note = f" (prepared as {name}; it runs on EXECUTE)"
    if _w(toks, j) == "AS":
        return _statement(toks[j + 1 :], ev, ctx.inner(note=note))
    if _w(toks, j) == "FROM" and j + 1 < len(toks) and toks[j + 1].kind == "str":
        return _text(toks[j + 1].text, ctx.inner(note=note))
    return [
        ctx.find(
            "db.dynamic_sql",
            f"prepares statement {name} from text built at run time",
            "sql.dynamic",
            ev,
            floor=Verdict.ASK,
        )
    ]


def _join(toks: list[_Tok]) -> str:
    """Text rebuilt from tokens, for client commands whose arguments were lexed as SQL."""
    return " ".join(repr(t.text) if t.kind == "str" else t.text for t in toks)


def _execute(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    j = i + 1 + (_w(toks, i + 1) == "IMMEDIATE")
    if j < len(toks) and toks[j].kind == "str" and len(toks) == j + 1:
        return _text(toks[j].text, ctx.inner(plpgsql=False))
    name, _ = _name(toks, j)
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


def _client(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    """MySQL's client commands ``system …`` and ``source file`` written as words."""
    if ctx.dialect != "mysql":
        return []
    return _meta(("\\! " if _w(toks, i) == "SYSTEM" else "\\. ") + _join(toks[i + 1 :]), ev, ctx)


def _set(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    """MySQL's ``SET GLOBAL`` / ``SET PERSIST``: its ALTER SYSTEM."""
    if ctx.dialect != "mysql" or _w(toks, i + 1) not in {"GLOBAL", "PERSIST", "PERSIST_ONLY"}:
        return []
    return [
        ctx.find(
            "db.alter_system", "changes the database server's configuration", "sql.alter_system", ev
        )
    ]


def _shutdown(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    if ctx.dialect != "mysql":
        return []
    return [ctx.find("db.shutdown", "shuts the database server down", "sql.shutdown", ev)]


def _attach(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    if ctx.dialect != "sqlite":
        return []
    return [
        ctx.find("db.attach", "attaches (and may create) another database file", "sql.attach", ev)
    ]


_HEADS = {
    "DROP": _drop,
    "TRUNCATE": _truncate,
    "ALTER": _alter,
    "GRANT": _grant,
    "REVOKE": _grant,
    "COPY": _copy,
    "DO": _do,
    "PREPARE": _prepare,
    "EXECUTE": _execute,
    "EXPLAIN": lambda toks, i, ev, ctx: _explain(toks, i, ev, ctx),
    "SYSTEM": _client,
    "SOURCE": _client,
    "SHUTDOWN": _shutdown,
    "SET": _set,
    "ATTACH": _attach,
}


def _explain(toks: list[_Tok], i: int, ev: str, ctx: _Ctx) -> list[Finding]:
    """EXPLAIN ANALYZE runs the statement it explains; plain EXPLAIN does not."""
    j, runs = i + 1, False
    if _is(toks, j, "("):
        end = _span_end(toks, j + 1)
        opts = [t.text for t in toks[j + 1 : end]]
        for k, word in enumerate(opts):
            if word in {"ANALYZE", "ANALYSE"}:
                runs = k + 1 >= len(opts) or opts[k + 1] not in {"FALSE", "OFF", "0"}
        j = end + 1
    while _w(toks, j) in {
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
        runs = runs or _w(toks, j) in {"ANALYZE", "ANALYSE"}
        j += 1
    if not runs or j >= len(toks):
        return []
    return _statement(toks[j:], ev, ctx.inner(note=" (EXPLAIN ANALYZE runs it)"))


_SERVER_FILES = frozenset(
    {
        "pg_read_file",
        "pg_read_binary_file",
        "pg_ls_dir",
        "pg_stat_file",
        "lo_import",
        "lo_export",
        "pg_file_write",
        "pg_file_unlink",
        "pg_file_rename",
        "load_file",
    }
)


def _function(tok: _Tok, ev: str, ctx: _Ctx) -> list[Finding]:
    if tok.kind not in ("word", "qident"):
        return []
    name = tok.text.lower()
    if name == "pg_terminate_backend":
        return [
            ctx.find(
                "db.terminate_backend",
                "terminates other database sessions",
                "sql.terminate_backend",
                ev,
            )
        ]
    if name in _SERVER_FILES:
        return [
            ctx.find(
                "db.server_file_access",
                f"reads or writes files on the database server ({name})",
                "sql.server_file",
                ev,
                verdict=Verdict.DENY,
            )
        ]
    if name == "load_extension":
        return [
            ctx.find(
                "db.shell_escape",
                "loads native code into the database process",
                "sql.load_extension",
                ev,
                verdict=Verdict.DENY,
            )
        ]
    return []


def _meta(line: str, ev: str, ctx: _Ctx) -> list[Finding]:
    """psql backslash commands, the mysql client's ``\\!``/``\\.``, sqlite3's dot-commands."""
    cmd, _, arg = line.partition(" ")
    cmd, arg = cmd.lower(), arg.strip()
    shell = cmd in {"\\!", ".shell", ".system", "\\system"} or (
        "`" in arg and ctx.dialect == "postgres"
    )
    piped = cmd in {
        "\\o",
        "\\out",
        "\\g",
        "\\w",
        "\\write",
        ".output",
        ".once",
        ".read",
        "\\copy",
    } and (arg.startswith("|") or (cmd == "\\copy" and " program " in f" {arg.lower()} "))
    if shell or piped:
        return [
            ctx.find(
                "db.shell_escape",
                f"runs a shell command from the SQL client ({_short(line, 80)})",
                "sql.client_shell",
                ev,
                targets=(arg,),
                verdict=Verdict.DENY,
            )
        ]
    if cmd in {"\\i", "\\ir", "\\include", "\\include_relative", "\\.", ".read"}:
        return [
            ctx.find(
                "db.include_file",
                f"runs the SQL in {arg or 'a file'}, which Interlock has not read",
                "sql.include",
                ev,
                targets=(arg,),
                floor=Verdict.ASK,
            )
        ]
    if cmd == "\\gexec":
        return [
            ctx.find(
                "db.dynamic_sql",
                "runs each result of the query as SQL (\\gexec)",
                "sql.dynamic",
                ev,
                floor=Verdict.ASK,
            )
        ]
    return []


# --------------------------------------------------------------------------------------- Redis

_REDIS: dict[str, tuple[str, str, bool | None]] = {
    "FLUSHALL": ("db.flushall", "deletes every key in every Redis database", False),
    "FLUSHDB": ("db.flushdb", "deletes every key in the selected Redis database", False),
    "DEL": ("db.delete_keys", "deletes Redis keys {args}", False),
    "UNLINK": ("db.delete_keys", "deletes Redis keys {args}", False),
    "CONFIG SET": ("db.config_set", "changes the Redis server's configuration ({args})", None),
    "SHUTDOWN": ("db.shutdown", "shuts the Redis server down", None),
    "DEBUG": ("db.debug", "runs DEBUG {args}, which can crash or stall the server", None),
    "SCRIPT FLUSH": ("db.script_flush", "removes every cached Lua script", None),
    "FUNCTION FLUSH": ("db.script_flush", "removes every Redis function library", None),
    "FUNCTION DELETE": ("db.script_flush", "removes the Redis function library {args}", None),
    "SWAPDB": ("db.swapdb", "swaps two Redis databases ({args})", None),
    "REPLICAOF": (
        "db.replicaof",
        "makes the server a replica, replacing its data with the primary's",
        False,
    ),
    "SLAVEOF": (
        "db.replicaof",
        "makes the server a replica, replacing its data with the primary's",
        False,
    ),
    "MODULE LOAD": ("db.native_code", "loads a native module into Redis ({args})", None),
}
_REDIS_OPAQUE = frozenset({"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})


def _redis(text: str, ctx: _Ctx) -> list[Finding]:
    """redis-cli input: one command a line; quotes as redis-cli reads them."""
    out: list[Finding] = []
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=False)
        except ValueError:
            out.append(
                ctx.find(
                    "db.unparsed",
                    "contains a Redis command Interlock cannot read (unclosed quote)",
                    "redis.unparsed",
                    _short(line),
                    floor=Verdict.ASK,
                )
            )
            continue
        if words and words[0].isdigit():  # redis-cli's "N COMMAND" repeats a command N times
            words = words[1:]
        if not words:
            continue
        cmd = words[0].upper()
        pair = f"{cmd} {words[1].upper()}" if len(words) > 1 else cmd
        key, args = (pair, words[2:]) if pair in _REDIS else (cmd, words[1:])
        if cmd in _REDIS_OPAQUE:
            out.append(
                ctx.find(
                    "db.eval",
                    "runs a server-side Redis script Interlock does not read",
                    "redis.eval",
                    _short(line),
                    floor=Verdict.ASK,
                )
            )
            continue
        if key not in _REDIS or (
            cmd in {"REPLICAOF", "SLAVEOF"} and [a.upper() for a in args] == ["NO", "ONE"]
        ):
            continue
        operation, summary, reversible = _REDIS[key]
        shown = " ".join(args[:5]) + (" …" if len(args) > 5 else "")
        out.append(
            ctx.find(
                operation,
                summary.format(args=shown).replace(" ()", ""),
                f"redis.{key.lower().replace(' ', '_')}",
                _short(line),
                targets=tuple(args) if cmd in {"DEL", "UNLINK"} else (),
                reversible=reversible,
            )
        )
    return out


# ------------------------------------------------------------------------------------- MongoDB

_MONGO: dict[str, tuple[str, str, str]] = {
    # method: (operation, summary with {target}, when: "always" | "empty" (no filter or {}))
    "dropDatabase": (
        "db.drop_database",
        "drops MongoDB database {target}; the data is lost",
        "always",
    ),
    "drop": ("db.drop_table", "drops the MongoDB collection {target}; the data is lost", "always"),
    "deleteMany": ("db.delete_all_rows", "deletes every document of {target}", "empty"),
    "remove": ("db.delete_all_rows", "deletes every document of {target}", "empty"),
    "updateMany": ("db.update_all_rows", "updates every document of {target}", "empty"),
    "dropUser": ("db.drop_role", "drops a MongoDB user", "always"),
    "dropAllUsers": ("db.drop_role", "drops every user of the MongoDB database {target}", "always"),
}
_MONGO_COMMANDS = re.compile(
    r"""["']?\b(dropDatabase|drop|dropAllUsersFromDatabase|dropUser)\b["']?\s*:"""
)


def _mongo(code: str, ctx: _Ctx) -> list[Finding]:
    """mongosh JavaScript: destructive collection and database methods, found on real tokens."""
    from interlock.analyzers.interpreters import lex

    toks, error = lex("node", code)
    out: list[Finding] = []
    for k in range(1, len(toks) - 1):
        tok = toks[k]
        if tok.kind != "name" or toks[k - 1].text != "." or toks[k + 1].text != "(":
            continue
        close = _js_close(toks, k + 1)
        ev = _short(
            code[_js_receiver(toks, k - 1) : toks[close].end if close < len(toks) else len(code)]
        )
        if tok.text in ("runCommand", "adminCommand"):
            args = code[toks[k + 1].end : toks[close].start if close < len(toks) else len(code)]
            m = _MONGO_COMMANDS.search(args)
            if m:
                operation = "db.drop_database" if m.group(1) == "dropDatabase" else "db.drop_table"
                out.append(
                    ctx.find(
                        operation,
                        f"runs the MongoDB command {m.group(1)}; the data is lost",
                        "mongo.command",
                        ev,
                        reversible=False,
                    )
                )
            continue
        if tok.text not in _MONGO:
            continue
        operation, summary, when = _MONGO[tok.text]
        inside = [t.text for t in toks[k + 2 : close]]
        if when == "empty" and not (
            inside == [] or (inside[:2] == ["{", "}"] and inside[2:3] in ([], [","]))
        ):
            continue
        receiver = code[_js_receiver(toks, k - 1) : toks[k - 1].start]
        target = _mongo_target(receiver)
        out.append(
            ctx.find(
                operation,
                summary.format(target=target),
                f"mongo.{tok.text.lower()}",
                ev,
                targets=(target,),
                reversible=False,
            )
        )
    if error is not None:
        out.append(
            ctx.find(
                "db.unparsed",
                f"contains MongoDB shell code Interlock cannot read: {error}",
                "mongo.unparsed",
                _short(code),
                floor=Verdict.ASK,
            )
        )
    return out


def _js_close(toks: list[Token], k: int) -> int:
    """Index of the bracket closing the one at ``k`` (len(toks) when it never closes)."""
    depth = 0
    for j in range(k, len(toks)):
        if toks[j].kind == "op" and toks[j].text in "([{":
            depth += 1
        elif toks[j].kind == "op" and toks[j].text in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return len(toks)


def _js_receiver(toks: list[Token], dot: int) -> int:
    """Start offset of the member chain before ``toks[dot]``: ``db.getCollection("x")``."""
    start, j = toks[dot].start, dot - 1
    while j >= 0:
        t = toks[j]
        if t.kind == "op" and t.text in ")]":
            depth = 0
            while j >= 0:
                if toks[j].kind == "op" and toks[j].text in ")]":
                    depth += 1
                elif toks[j].kind == "op" and toks[j].text in "([":
                    depth -= 1
                    if depth == 0:
                        break
                j -= 1
            if j < 0:
                break
            start, j = toks[j].start, j - 1
        elif t.kind in ("name", "str"):
            start = t.start
            if j >= 1 and toks[j - 1].kind == "op" and toks[j - 1].text == ".":
                j -= 2
            else:
                break
        else:
            break
    return start


def _mongo_target(receiver: str) -> str:
    m = re.fullmatch(
        r"""\s*db\s*\.\s*(?:getCollection\s*\(\s*["'](.+?)["']\s*\)|(\w+))\s*""", receiver
    )
    if m:
        return m.group(1) or m.group(2)
    m = re.fullmatch(r"""\s*db\s*\.\s*getSiblingDB\s*\(\s*["'](.+?)["']\s*\)\s*""", receiver)
    if m:
        return m.group(1)
    if re.fullmatch(r"\s*db\s*", receiver):
        return "(the current one)"
    return receiver.strip() or "(the current one)"
