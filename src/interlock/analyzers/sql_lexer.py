"""The SQL lexer, and the helpers rules use to walk its tokens.

Internal to ``interlock.analyzers.sql``. Every rule looks at tokens, never at raw text, so that
``SELECT 'DROP TABLE users'`` and ``-- DROP TABLE users`` are harmless while ``DROP TABLE
users`` is not. The lexer follows each dialect's rules because each difference is a known
evasion (issue 2):

- MySQL executes ``/*! … */`` comments, and ``--`` is a comment there only before a space;
  ``#`` starts a comment; ``"…"`` is a string;
- block comments nest only in PostgreSQL, which also has ``$tag$…$tag$`` strings and
  ``E'…'`` escapes;
- SQLite quotes names with `` ` `` and ``[ ]`` and has dot-commands at the start of a line;
- psql and the mysql client read a backslash command to the end of its line (a ``meta`` token).

What it cannot close (string, quoted name, comment, ``$$``) is returned as an error, which the
caller reports as ``db.unparsed``: the server would reject the text or read it differently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tok:
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


def lex(sql: str, dialect: str, escapes: bool) -> tuple[list[Tok], str | None]:
    """Tokens without comments; string contents kept as one token. Second item: an error."""
    toks: list[Tok] = []
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
            toks.append(Tok("str", text, i, end))
            i = end
        elif c == '"' or (c == "`" and not pg) or (c == "[" and dialect == "sqlite"):
            close = "]" if c == "[" else c
            end, text = _quoted(sql, i, close, False)
            if end < 0:
                return toks, "a quoted name is never closed"
            toks.append(Tok("qident", text, i, end))
            i = end
        elif c == "$" and pg and (m := _DOLLAR.match(sql, i)) and not _ident_before(sql, i):
            stop = sql.find(m.group(0), m.end())
            if stop < 0:
                return toks, "a $-quoted string is never closed"
            toks.append(Tok("str", sql[m.end() : stop], i, stop + len(m.group(0))))
            i = stop + len(m.group(0))
        elif (c == "\\" and dialect != "sqlite") or (
            c == "." and at_line_start and dialect == "sqlite"
        ):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            toks.append(Tok("meta", sql[i:j].strip(), i, j))
            i = j
        else:
            m = _SIMPLE.match(sql, i)
            assert m is not None  # the last alternative matches any character
            kind = m.lastgroup or "op"
            text = m.group(0).upper() if kind == "word" else m.group(0)
            toks.append(Tok(kind, text, i, m.end()))
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


def split_statements(toks: list[Tok]) -> list[list[Tok]]:
    out: list[list[Tok]] = []
    cur: list[Tok] = []
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


# ------------------------------------------------------------------- walking the tokens


def kw(toks: list[Tok], i: int) -> str:
    """The keyword at ``i``, or "" when it is not a bare word (or past the end)."""
    return toks[i].text if i < len(toks) and toks[i].kind == "word" else ""


def is_op(toks: list[Tok], i: int, op: str) -> bool:
    return i < len(toks) and toks[i].kind == "op" and toks[i].text == op


def span_end(toks: list[Tok], i: int) -> int:
    """Index of the ``)`` closing the group ``i`` is in, or len(toks) at top level."""
    depth = 0
    for j in range(i, len(toks)):
        if is_op(toks, j, "("):
            depth += 1
        elif is_op(toks, j, ")"):
            depth -= 1
            if depth < 0:
                return j
    return len(toks)


def top_level(toks: list[Tok], start: int, end: int) -> list[int]:
    """Indexes in [start, end) at parenthesis depth 0."""
    out, depth = [], 0
    for j in range(start, end):
        if is_op(toks, j, "("):
            depth += 1
        elif is_op(toks, j, ")"):
            depth -= 1
        elif depth == 0:
            out.append(j)
    return out


def name_at(toks: list[Tok], i: int) -> tuple[str, int]:
    """A possibly qualified name (``public."Users"``) starting at ``i``, and the index after it."""
    parts: list[str] = []
    while i < len(toks) and toks[i].kind in ("word", "qident", "str"):
        parts.append(toks[i].text.lower() if toks[i].kind == "word" else toks[i].text)
        if is_op(toks, i + 1, ".") and i + 2 < len(toks):
            i += 2
        else:
            return ".".join(parts), i + 1
    return ".".join(parts), i


def names_at(toks: list[Tok], i: int, stop: frozenset[str]) -> tuple[tuple[str, ...], int]:
    names: list[str] = []
    while i < len(toks) and kw(toks, i) not in stop:
        name, j = name_at(toks, i)
        if name:
            names.append(name)
        i = j if j > i else i + 1
        if is_op(toks, i, "*"):
            i += 1
        if not is_op(toks, i, ","):
            break
        i += 1
    return tuple(names), i
