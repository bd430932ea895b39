"""Effects of interpreter one-liners: ``python -c``, ``node -e``, ``perl -e``, ``ruby -e``, ``php -r``, ``deno eval``.

Guards that match strings miss ``python -c 'import shutil; shutil.rmtree(...)'`` entirely
(issue 2, ../shared/notes/peers.md), so a one-liner is read for what it *does*: files it
deletes or writes, shell commands, SQL and HTTP requests it sends. This module returns
:class:`Effect` values, not findings; the shell analyzer classifies the paths, recurses into
shell strings and hands SQL and HTTP to their analyzers.

Python is read with the ``ast`` module (end of this module), resolving ``import shutil as s``,
``from os import remove`` and ``__import__("os")``. The other languages get a token scan that skips comments, reads
string literals (and the code inside ``${…}`` / ``#{…}`` interpolations) and looks at calls.

Fail closed: an argument that is not a literal gives an effect whose ``target`` is None (the
shell analyzer asks), code that builds code (``eval(x)``, ``exec(x)``, ``require(x)``) is an
``opaque`` effect, and code the scanner cannot read (a syntax error, an unclosed string) is
one ``opaque`` effect.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Literal

__all__ = ["Effect", "Language", "Token", "lex", "scan", "sql_dialect"]

Language = Literal["python", "node", "perl", "ruby", "php", "deno"]
EffectKind = Literal["delete", "shell", "sql", "http", "write", "opaque"]


@dataclass(frozen=True)
class Effect:
    """One thing a one-liner does to the world."""

    kind: EffectKind
    target: str | None = None
    """Path, shell command, SQL text or URL; None when the code does not spell it out."""
    recursive: bool = False
    """For ``delete``: a whole tree (``shutil.rmtree``, ``rm -rf``-like options)."""
    method: str | None = None
    """For ``http``: the request method, upper case."""
    detail: str = ""
    """The call it came from: ``shutil.rmtree``, ``os.system``, ``sqlite3:execute``."""


_DB_DIALECTS = {
    "sqlite3": "sqlite",
    "pymysql": "mysql",
    "MySQLdb": "mysql",
    "mysql": "mysql",
    "mysql2": "mysql",
    "mysqli": "mysql",
    "redis": "redis",
    "pymongo": "mongodb",
}


def sql_dialect(effect: Effect) -> str:
    """The SQL dialect of a ``sql`` effect, from the module named in its detail (default postgres)."""
    module = effect.detail.split(":", 1)[0].split(".", 1)[0]
    return _DB_DIALECTS.get(module, "postgres")


def scan(language: Language, code: str) -> list[Effect]:
    """The effects of ``code`` run by ``language``'s interpreter, in source order."""
    if language == "python":
        return _python(code)
    toks, error = lex(language, code)
    effects = _calls(language, code, toks)
    if error is not None:
        effects.append(Effect("opaque", detail=f"{language} code Interlock cannot read: {error}"))
    return effects


# ---------------------------------------------------------------------------------- the lexer


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    """name, num, op, str, shell (backticks, qx, %x), words (qw, %w) or regex."""
    text: str
    """Source text; for str, shell and words the contents."""
    start: int
    end: int
    literal: bool = True
    """False for a string with interpolation (``"$x"``, ``#{x}``, ``${x}``)."""


@dataclass(frozen=True)
class _Syntax:
    hash_comment: bool
    slash_comment: bool
    backtick: str  # "template" (JS) or "shell"
    dq_vars: str  # sigils that interpolate in "…" (perl $@, php $)
    dq_interp: str  # "#{" in Ruby's "…" and backticks
    regex: bool


_SYNTAX = {
    "node": _Syntax(False, True, "template", "", "", True),
    "deno": _Syntax(False, True, "template", "", "", True),
    "perl": _Syntax(True, False, "shell", "$@", "", True),
    "ruby": _Syntax(True, False, "shell", "", "#{", True),
    "php": _Syntax(True, True, "shell", "$", "", False),
}
_NAME = re.compile(r"[$@]?[A-Za-z_\x80-\uffff][\w$\x80-\uffff]*|\d[\w.]*")
_OPS = ("->", "::", "=>", "=~", "!~", "===", "!==", "==", "!=", "&&", "||", "?.", "...")
_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_REGEX_AFTER = frozenset(
    {
        "return",
        "typeof",
        "split",
        "grep",
        "if",
        "unless",
        "and",
        "or",
        "not",
        "when",
        "while",
        "until",
        "case",
        "in",
        "of",
        "join",
        "map",
    }
)


class _LexError(Exception):
    pass


class _Lexer:
    def __init__(self, language: str, code: str) -> None:
        self.lang, self.code, self.syn = language, code, _SYNTAX[language]
        self.toks: list[Token] = []

    def run(self, i: int, stop_brace: bool = False) -> int:
        """Lex from ``i``; with ``stop_brace`` return at the ``}`` closing an interpolation."""
        code, syn, depth, n = self.code, self.syn, 0, len(self.code)
        while i < n:
            c = code[i]
            if c.isspace():
                i += 1
            elif (syn.slash_comment and code.startswith("//", i)) or (
                syn.hash_comment and c == "#"
            ):
                j = code.find("\n", i)
                i = n if j < 0 else j
            elif syn.slash_comment and code.startswith("/*", i):
                j = code.find("*/", i + 2)
                if j < 0:
                    raise _LexError("a /* comment is never closed")
                i = j + 2
            elif (
                self.lang == "ruby"
                and code.startswith("=begin", i)
                and (i == 0 or code[i - 1] == "\n")
            ):
                j = code.find("\n=end", i)
                i = n if j < 0 else j + 5
            elif c == "'":
                i = self.quoted(i, "'", "'", "str", interp=False)
            elif c == '"':
                i = self.quoted(i, '"', '"', "str", interp=True)
            elif c == "`":
                kind = "str" if syn.backtick == "template" else "shell"
                i = self.quoted(i, "`", "`", kind, interp=True)
            elif c == "/" and syn.regex and self.regex_allowed():
                i = self.quoted(i, "/", "/", "regex", interp=False)
                while i < n and code[i].isalpha():
                    i += 1
            elif (
                c == "%"
                and self.lang == "ruby"
                and self.regex_allowed()
                and (m := re.compile(r"%([qQwWiIxr]?)([^\w\s])").match(code, i))
            ):
                kind = {
                    "q": "str",
                    "Q": "str",
                    "": "str",
                    "w": "words",
                    "W": "words",
                    "i": "words",
                    "I": "words",
                    "x": "shell",
                    "r": "regex",
                }[m.group(1)]
                delim = m.group(2)
                i = self.quoted(
                    m.end() - 1,
                    delim,
                    _PAIRS.get(delim, delim),
                    kind,
                    interp=m.group(1) not in "qwi",
                )
            elif (
                c.isalpha()
                and self.lang == "perl"
                and (m := re.compile(r"(qq|qw|qx|q|m|s|tr|y)\s*([^\w\s])").match(code, i))
                and not _word_char_before(code, i)
            ):
                i = self.perl_quote(m)
            elif c.isalnum() or c in "_$@" or ord(c) > 127:
                m = _NAME.match(code, i)
                if m is None:
                    self.add("op", c, i, i + 1)
                    i += 1
                    continue
                self.add("num" if c.isdigit() else "name", m.group(0), i, m.end())
                i = m.end()
            else:
                op = next((o for o in _OPS if code.startswith(o, i)), c)
                if stop_brace and op == "}":
                    if depth == 0:
                        return i + 1
                    depth -= 1
                elif stop_brace and op == "{":
                    depth += 1
                self.add("op", op, i, i + len(op))
                i += len(op)
        if stop_brace:
            raise _LexError("an interpolation is never closed")
        return i

    def add(self, kind: str, text: str, start: int, end: int, literal: bool = True) -> None:
        self.toks.append(Token(kind, text, start, end, literal))

    def regex_allowed(self) -> bool:
        if not self.toks:
            return True
        last = self.toks[-1]
        if last.kind == "name":
            return last.text in _REGEX_AFTER
        return last.kind == "op" and last.text not in (")", "]", "}")

    def quoted(self, i: int, open_: str, close: str, kind: str, *, interp: bool) -> int:
        """Read from the opening delimiter at ``i``; the contents become one token."""
        code, out, j, depth, literal = self.code, [], i + 1, 0, True
        syn = self.syn
        marker = "${" if syn.backtick == "template" and open_ == "`" else syn.dq_interp
        while j < len(code):
            c = code[j]
            if c == "\\" and j + 1 < len(code):
                out.append(
                    code[j : j + 2]
                    if kind == "regex" or (open_ == "'" and code[j + 1] not in "'\\")
                    else code[j + 1]
                )
                j += 2
            elif interp and marker and code.startswith(marker, j):
                literal = False
                j = self.run(j + len(marker), stop_brace=True)
            elif (
                interp
                and syn.dq_vars
                and c in syn.dq_vars
                and j + 1 < len(code)
                and (code[j + 1].isalnum() or code[j + 1] in "_{")
            ):
                literal = False
                out.append(c)
                j += 1
            elif c == open_ and open_ != close:
                depth += 1
                out.append(c)
                j += 1
            elif c == close:
                if depth == 0:
                    self.add(kind, "".join(out), i, j + 1, literal)
                    return j + 1
                depth -= 1
                out.append(c)
                j += 1
            else:
                out.append(c)
                j += 1
        raise _LexError(f"a {'string' if kind == 'str' else kind} is never closed")

    def perl_quote(self, m: re.Match[str]) -> int:
        op, delim = m.group(1), m.group(2)
        kind = {"q": "str", "qq": "str", "qw": "words", "qx": "shell"}.get(op, "regex")
        close = _PAIRS.get(delim, delim)
        end = self.quoted(m.end() - 1, delim, close, kind, interp=op in ("qq", "qx"))
        if op in ("s", "tr", "y"):  # a second part: s{a}{b} or s/a/b/
            start = end - 1 if close == delim else end
            while close != delim and start < len(self.code) and self.code[start].isspace():
                start += 1
            self.toks.pop()
            end = self.quoted(
                start,
                self.code[start] if close != delim else delim,
                _PAIRS.get(self.code[start], close) if close != delim else close,
                "regex",
                interp=False,
            )
        while end < len(self.code) and self.code[end].isalpha():
            end += 1
        return end


def _word_char_before(code: str, i: int) -> bool:
    return i > 0 and (code[i - 1].isalnum() or code[i - 1] in "_$@%&>-:")


def lex(language: str, code: str) -> tuple[list[Token], str | None]:
    """Tokens of ``code`` (comments dropped) and an error message when it cannot be read."""
    lexer = _Lexer(language, code)
    try:
        lexer.run(0)
    except _LexError as exc:
        return lexer.toks, str(exc)
    return lexer.toks, None


# ------------------------------------------------------------------- calls in node, perl, ruby, php


@dataclass(frozen=True)
class _Rule:
    kind: EffectKind
    mode: str
    """How arguments become targets: path, paths, shell, shell0, cmdargs, eval, dynamic,
    opaque, sql, fetch, deno_command, deno_run, perl_open, callback."""
    recursive: bool | None = False
    """None: recursive when the call's options say ``recursive: true``."""
    guard: str = ""
    """For generic names (``rm``, ``exec``): a module that must appear in the code."""
    receiver: str = "any"
    """"some": only as a method (``$pdo->exec``); "none": only as a bare call (``exec "…"``)."""


_FS, _CP = r"(node:)?fs(/promises)?|fs-extra", r"(node:)?child_process"
_DBJS = r"pg|postgres|mysql2?|sqlite3?|better-sqlite3|mssql"
_DB = r"DBI|dbi:\w+:.*|pg|mysql2?|sqlite3|PG|Mysql2|SQLite3|ActiveRecord|Sequel|PDO|mysqli"
_NODE: dict[str, tuple[_Rule, ...]] = {
    **dict.fromkeys(
        ["rmSync", "rmdirSync", "Deno.remove", "Deno.removeSync"], (_Rule("delete", "path", None),)
    ),
    "unlinkSync": (_Rule("delete", "path"),),
    **dict.fromkeys(["rm", "rmdir"], (_Rule("delete", "path", None, _FS),)),
    "unlink": (_Rule("delete", "path", False, _FS),),
    **dict.fromkeys(
        ["remove", "removeSync", "emptyDir", "emptyDirSync"],
        (_Rule("delete", "path", True, "fs-extra"),),
    ),
    **dict.fromkeys(["rimraf", "rimrafSync"], (_Rule("delete", "path", True, "rimraf"),)),
    "execSync": (_Rule("shell", "shell0"),),
    "exec": (
        _Rule("shell", "shell0", guard=_CP),
        _Rule("sql", "sql", guard=_DBJS, receiver="some"),
    ),
    **dict.fromkeys(["spawnSync", "execFileSync"], (_Rule("shell", "cmdargs"),)),
    **dict.fromkeys(["spawn", "execFile"], (_Rule("shell", "cmdargs", guard=_CP),)),
    "fork": (_Rule("opaque", "opaque", guard=_CP),),
    "eval": (_Rule("opaque", "eval"),),
    "Function": (_Rule("opaque", "eval"),),
    **dict.fromkeys(["require", "import"], (_Rule("opaque", "dynamic"),)),
    **dict.fromkeys(
        [
            "runInThisContext",
            "runInNewContext",
            "runInContext",
            "compileFunction",
            "process.binding",
        ],
        (_Rule("opaque", "opaque"),),
    ),
    **dict.fromkeys(
        [
            "writeFileSync",
            "appendFileSync",
            "truncateSync",
            "Deno.writeTextFile",
            "Deno.writeTextFileSync",
            "Deno.writeFile",
            "Deno.writeFileSync",
            "Deno.truncate",
            "Deno.truncateSync",
        ],
        (_Rule("write", "path"),),
    ),
    **dict.fromkeys(["writeFile", "appendFile", "truncate"], (_Rule("write", "path", guard=_FS),)),
    "fetch": (_Rule("http", "fetch"),),
    "Deno.Command": (_Rule("shell", "deno_command"),),
    "Deno.run": (_Rule("shell", "deno_run"),),
    **dict.fromkeys(["query", "execute"], (_Rule("sql", "sql", guard=_DBJS, receiver="some"),)),
}
_PERL: dict[str, tuple[_Rule, ...]] = {
    **dict.fromkeys(["unlink", "rmdir"], (_Rule("delete", "paths"),)),
    **dict.fromkeys(["rmtree", "remove_tree"], (_Rule("delete", "paths", True),)),
    **dict.fromkeys(["system", "exec"], (_Rule("shell", "shell"),)),
    "open": (_Rule("shell", "perl_open"),),
    "eval": (_Rule("opaque", "eval"),),
    **dict.fromkeys(
        ["do", "prepare", "selectall_arrayref", "selectrow_array"],
        (_Rule("sql", "sql", guard=_DB, receiver="some"),),
    ),
}
_RUBY: dict[str, tuple[_Rule, ...]] = {
    **dict.fromkeys(
        [
            "FileUtils.rm_rf",
            "FileUtils.rm_r",
            "FileUtils.remove_dir",
            "FileUtils.remove_entry",
            "FileUtils.remove_entry_secure",
            "FileUtils.rmtree",
            "rmtree",
        ],
        (_Rule("delete", "paths", True),),
    ),
    **dict.fromkeys(
        [
            "FileUtils.rm",
            "FileUtils.rm_f",
            "FileUtils.remove",
            "FileUtils.rmdir",
            "FileUtils.safe_unlink",
            "File.delete",
            "File.unlink",
            "Dir.rmdir",
            "Dir.delete",
            "Dir.unlink",
        ],
        (_Rule("delete", "paths"),),
    ),
    **dict.fromkeys(
        [
            "system",
            "spawn",
            "Process.spawn",
            "Process.exec",
            "IO.popen",
            "Open3.capture2",
            "Open3.capture2e",
            "Open3.capture3",
            "Open3.popen2",
            "Open3.popen3",
            "Kernel.system",
            "Kernel.exec",
        ],
        (_Rule("shell", "shell"),),
    ),
    "exec": (
        _Rule("shell", "shell", receiver="none"),
        _Rule("sql", "sql", guard=_DB, receiver="some"),
    ),
    **dict.fromkeys(
        ["eval", "instance_eval", "class_eval", "module_eval"], (_Rule("opaque", "eval"),)
    ),
    **dict.fromkeys(
        ["send", "public_send", "__send__", "const_get"], (_Rule("opaque", "dynamic"),)
    ),
    **dict.fromkeys(["File.write", "IO.write"], (_Rule("write", "path"),)),
    **dict.fromkeys(
        ["execute", "query", "exec_query", "exec_params"],
        (_Rule("sql", "sql", guard=_DB, receiver="some"),),
    ),
}
_PHP: dict[str, tuple[_Rule, ...]] = {
    **dict.fromkeys(["unlink", "rmdir"], (_Rule("delete", "paths"),)),
    **dict.fromkeys(
        ["shell_exec", "system", "passthru", "popen", "proc_open", "pcntl_exec"],
        (_Rule("shell", "shell0", receiver="none"),),
    ),
    "exec": (
        _Rule("shell", "shell0", receiver="none"),
        _Rule("sql", "sql", guard=_DB, receiver="some"),
    ),
    **dict.fromkeys(
        ["eval", "assert", "create_function"], (_Rule("opaque", "eval", receiver="none"),)
    ),
    "file_put_contents": (_Rule("write", "path"),),
    **dict.fromkeys(["mysqli_query", "pg_query", "pg_exec", "sqlite_exec"], (_Rule("sql", "sql"),)),
    **dict.fromkeys(["query", "multi_query"], (_Rule("sql", "sql", receiver="some"),)),
    **dict.fromkeys(["call_user_func", "call_user_func_array"], (_Rule("opaque", "callback"),)),
}
_TABLES = {"node": _NODE, "deno": _NODE, "perl": _PERL, "ruby": _RUBY, "php": _PHP}
_SEPARATORS = frozenset({".", "::", "->", "?."})
_ARG_STOP = frozenset({";", "}", "or", "and", "if", "unless", "||", "&&", "do"})


def _calls(language: str, code: str, toks: list[Token]) -> list[Effect]:
    table = _TABLES[language]
    mentioned = {t.text for t in toks if t.kind in ("str", "name")}
    dynamic_load = any(
        t.kind == "name"
        and t.text in ("require", "import")
        and k + 2 < len(toks)
        and toks[k + 1].text == "("
        and _literal([toks[k + 2]]) is None
        for k, t in enumerate(toks)
    )
    out: list[Effect] = []
    for k, tok in enumerate(toks):
        if tok.kind == "shell":
            out.append(Effect("shell", tok.text if tok.literal else None, detail="backticks"))
            continue
        if tok.kind != "name":
            continue
        segments, has_receiver = _callee(toks, k)
        args = _arguments(code, toks, k, language in ("perl", "ruby"))
        if args is None:
            continue
        if language == "php" and tok.text.startswith("$") and not has_receiver:
            out.append(Effect("opaque", detail=f"calls the function held in {tok.text}"))
            continue
        for key in (".".join(segments[-2:]), segments[-1]):
            rule = next(
                (
                    r
                    for r in table.get(key, ())
                    if _applies(r, has_receiver, mentioned, dynamic_load)
                ),
                None,
            )
            if rule is not None:
                out.extend(_apply(language, rule, key, args, table, mentioned))
                break
    return out


def _applies(rule: _Rule, has_receiver: bool, mentioned: set[str], dynamic_load: bool) -> bool:
    if (rule.receiver == "some" and not has_receiver) or (rule.receiver == "none" and has_receiver):
        return False
    if not rule.guard or dynamic_load:
        return True
    pattern = re.compile(rule.guard)
    return any(pattern.fullmatch(m) for m in mentioned)


def _callee(toks: list[Token], k: int) -> tuple[list[str], bool]:
    """``["fs", "promises", "rm"]`` for ``fs.promises.rm``, and whether a receiver precedes."""
    segments, j, has_receiver = [toks[k].text], k - 1, False
    while j >= 0 and toks[j].kind == "op" and toks[j].text in _SEPARATORS:
        has_receiver = True
        if j >= 1 and toks[j - 1].kind == "name":
            segments.insert(0, toks[j - 1].text.lstrip("$"))
            j -= 2
        else:
            break
    return segments, has_receiver


def _arguments(code: str, toks: list[Token], k: int, bare: bool) -> list[list[Token]] | None:
    """The call's arguments split on top-level commas; None when ``toks[k]`` is not a call.

    With ``bare`` (Perl, Ruby) a call may go without parentheses: ``system "…"``, ``unlink glob …``.
    """
    if k + 1 < len(toks) and toks[k + 1].kind == "op" and toks[k + 1].text == "(":
        j, depth, end = k + 1, 0, len(toks)
        for j in range(k + 1, len(toks)):
            if toks[j].kind == "op" and toks[j].text in "([{":
                depth += 1
            elif toks[j].kind == "op" and toks[j].text in ")]}":
                depth -= 1
                if depth == 0:
                    end = j
                    break
        return _split(toks[k + 2 : end])
    nxt = toks[k + 1] if bare and k + 1 < len(toks) else None
    if (
        nxt is None
        or "\n" in code[toks[k].end : nxt.start]
        or (nxt.kind == "op" and nxt.text != "[")
        or nxt.text in _ARG_STOP
    ):
        return None
    span: list[Token] = []
    for t in toks[k + 1 :]:
        if t.text in _ARG_STOP or "\n" in code[(span[-1] if span else toks[k]).end : t.start]:
            break
        span.append(t)
    return _split(span)


def _split(span: list[Token]) -> list[list[Token]]:
    args: list[list[Token]] = [[]]
    depth = 0
    for t in span:
        if t.kind == "op" and t.text in "([{":
            depth += 1
        elif t.kind == "op" and t.text in ")]}":
            depth -= 1
        if depth == 0 and t.kind == "op" and t.text in (",", "=>") and t.text == ",":
            args.append([])
        else:
            args[-1].append(t)
    return [a for a in args if a]


def _literal(arg: list[Token]) -> str | None:
    """The value of a string literal, or of literals joined with ``+`` or ``.``."""
    parts = []
    for n, t in enumerate(arg):
        if n % 2 == 0 and t.kind == "str" and t.literal:
            parts.append(t.text)
        elif n % 2 == 1 and t.kind == "op" and t.text in ("+", "."):
            continue
        else:
            return None
    return "".join(parts) if len(arg) % 2 == 1 else None


def _words(arg: list[Token]) -> list[str] | None:
    """``qw(a b)``, ``%w[a b]`` or an array literal of string literals."""
    if len(arg) == 1 and arg[0].kind == "words":
        return arg[0].text.split()
    if len(arg) >= 2 and arg[0].text == "[" and arg[-1].text == "]":
        items = _split(arg[1:-1])
        values = [_literal(i) for i in items]
        return None if any(v is None for v in values) else [v for v in values if v is not None]
    single = _literal(arg)
    return None if single is None else [single]


def _option(args: list[list[Token]], key: str) -> list[Token] | None:
    """The value tokens of ``key: …`` / ``key => …`` anywhere in the call's arguments."""
    flat = [t for a in args for t in a]
    for j, t in enumerate(flat[:-2]):
        if t.text == key and t.kind in ("name", "str") and flat[j + 1].text in (":", "=>"):
            value, depth = [], 0
            for v in flat[j + 2 :]:
                if depth == 0 and (v.text in (",", "}", ")") and v.kind == "op"):
                    break
                depth += (v.text in "([{") - (v.text in ")]}") if v.kind == "op" else 0
                value.append(v)
            return value
    return None


def _join(words: list[str] | None) -> str | None:
    if words is None:
        return None
    return words[0] if len(words) == 1 else shlex.join(words)


def _apply(
    language: str,
    rule: _Rule,
    key: str,
    args: list[list[Token]],
    table: dict[str, tuple[_Rule, ...]],
    mentioned: set[str],
) -> list[Effect]:
    mode, kind = rule.mode, rule.kind
    if mode in ("path", "paths"):
        recursive = rule.recursive
        if recursive is None:
            value = _option(args, "recursive")
            recursive = value is not None and [t.text for t in value] == ["true"]
        targets = [_literal(a) for a in (args if mode == "paths" else args[:1])] or [None]
        return [Effect(kind, t, recursive=recursive, detail=key) for t in targets]
    if mode in ("shell", "shell0"):
        if mode == "shell0" or len(args) == 1:
            return [Effect("shell", _join(_words(args[0])) if args else None, detail=key)]
        words = [_literal(a) for a in args]
        return [
            Effect(
                "shell",
                None if None in words else shlex.join(w for w in words if w is not None),
                detail=key,
            )
        ]
    if mode == "cmdargs":
        cmd = _literal(args[0]) if args else None
        rest = _words(args[1]) if len(args) > 1 and args[1][0].text == "[" else []
        return [
            Effect(
                "shell", None if cmd is None or rest is None else _join([cmd, *rest]), detail=key
            )
        ]
    if mode == "deno_command":
        cmd = _literal(args[0]) if args else None
        value = _option(args[1:], "args")
        rest = [] if value is None else _words(value)
        return [
            Effect(
                "shell", None if cmd is None or rest is None else _join([cmd, *rest]), detail=key
            )
        ]
    if mode == "deno_run":
        value = _option(args, "cmd")
        return [Effect("shell", _join(_words(value)) if value else None, detail=key)]
    if mode == "perl_open":
        mode_arg = _literal(args[1]) if len(args) > 1 else None
        if len(args) >= 3 and mode_arg in ("-|", "|-"):
            return [
                Effect(
                    "shell",
                    _join([w for a in args[2:] for w in (_words(a) or [""])])
                    if all(_words(a) for a in args[2:])
                    else None,
                    detail="open",
                )
            ]
        if len(args) == 2 and mode_arg is None:
            return [Effect("shell", None, detail="open with a mode and path built at run time")]
        if (
            len(args) == 2
            and mode_arg is not None
            and (mode_arg.strip().startswith("|") or mode_arg.strip().endswith("|"))
        ):
            return [Effect("shell", mode_arg.strip().strip("|").strip(), detail="open")]
        return []
    if mode == "eval":
        text = _literal(args[-1]) if args else None
        if text is None:
            return [Effect("opaque", detail=f"{key} of code built at run time")]
        return scan("php" if language == "php" else language, text)  # type: ignore[arg-type]
    if mode == "dynamic":
        if args and _literal(args[0]) is None and _words(args[0]) is None:
            return [Effect("opaque", detail=f"{key} of a name built at run time")]
        return []
    if mode == "callback":
        name = _literal(args[0]) if args else None
        if name is None:
            return [Effect("opaque", detail=f"{key} of a function named at run time")]
        inner = next((r for r in table.get(name, ()) if r.receiver != "some"), None)
        return _apply(language, inner, name, args[1:], table, mentioned) if inner else []
    if mode == "sql":
        text = next((v for v in (_literal(a) for a in args) if v is not None), None)
        db = _db_module(mentioned)
        return [Effect("sql", text, detail=f"{db}:{key}")]
    if mode == "fetch":
        url = _literal(args[0]) if args else None
        value = _option(args[1:], "method")
        if value is None:
            return []  # a GET
        method = _literal(value)
        if method is not None and method.upper() in ("GET", "HEAD", "OPTIONS"):
            return []
        return [Effect("http", url, method=method.upper() if method else None, detail="fetch")]
    return [Effect("opaque", detail=key)]


def _db_module(mentioned: set[str]) -> str:
    for text in mentioned:
        m = re.match(r"dbi:(\w+):", text, re.IGNORECASE)
        if m:
            return {"pg": "pg", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite3"}.get(
                m.group(1).lower(), m.group(1)
            )
    for name in (
        "sqlite3",
        "better-sqlite3",
        "mysql2",
        "mysql",
        "mysqli",
        "pg",
        "PG",
        "Mysql2",
        "SQLite3",
    ):
        if name in mentioned:
            return {
                "better-sqlite3": "sqlite3",
                "SQLite3": "sqlite3",
                "Mysql2": "mysql2",
                "PG": "pg",
            }.get(name, name)
    return "unknown"


# ---------------------------------------------------------------------------------------- Python

_PY_DELETE = {
    "shutil.rmtree": True,
    "os.remove": False,
    "os.unlink": False,
    "os.rmdir": False,
    "os.removedirs": False,
    "pathlib.Path.unlink": False,
    "pathlib.Path.rmdir": False,
}
_PY_SHELL_FIRST = frozenset(
    {
        "os.system",
        "os.popen",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "asyncio.create_subprocess_shell",
        "pty.spawn",
        "commands.getoutput",
        "os.execv",
        "os.execve",
        "os.execvp",
        "os.execvpe",
        "os.posix_spawn",
        "os.posix_spawnp",
        "os.spawnv",
        "os.spawnve",
        "os.spawnvp",
        "os.spawnvpe",
        "os.execl",
        "os.execle",
        "os.execlp",
        "os.execlpe",
        "os.spawnl",
        "os.spawnle",
        "os.spawnlp",
        "os.spawnlpe",
        "asyncio.create_subprocess_exec",
    }
)
_PY_DB = (
    "sqlite3",
    "psycopg",
    "psycopg2",
    "pymysql",
    "MySQLdb",
    "mysql",
    "asyncpg",
    "sqlalchemy",
    "pg8000",
    "duckdb",
    "aiosqlite",
)
_PY_HTTP = ("requests", "httpx")
_PY_OPAQUE = frozenset(
    {
        "ctypes.CDLL",
        "ctypes.cdll.LoadLibrary",
        "pickle.loads",
        "marshal.loads",
        "ctypes.PyDLL",
        "runpy.run_path",
        "runpy.run_module",
    }
)


def _python(code: str) -> list[Effect]:
    import ast

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError) as exc:
        return [
            Effect("opaque", detail=f"python code that does not parse: {getattr(exc, 'msg', exc)}")
        ]
    scanner = _PyScanner(ast)
    scanner.visit(tree)
    return scanner.effects


class _PyScanner:
    """Walks a module in source order, tracking imports and names bound to literal values."""

    def __init__(self, ast: object) -> None:
        import ast as _ast

        self.ast = _ast
        self.aliases: dict[str, str] = {}
        self.star: list[str] = []
        self.consts: dict[str, object] = {}
        self.effects: list[Effect] = []

    def visit(self, node: object) -> None:
        ast = self.ast
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    self.aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                if a.name == "*":
                    self.star.append(node.module)
                else:
                    self.aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    resolved = self.value(value) if value is not None else None
                    if resolved is None:
                        self.consts.pop(target.id, None)
                        module = self.resolve(value) if isinstance(value, ast.Call) else None
                        if module and module.count(".") == 0 and module in self.aliases.values():
                            self.aliases[target.id] = module  # m = __import__("os")
                    else:
                        self.consts[target.id] = resolved
        elif isinstance(node, ast.Call):
            self.call(node)
        for child in ast.iter_child_nodes(node):  # type: ignore[arg-type,unused-ignore]
            self.visit(child)

    def resolve(self, node: object) -> str | None:
        """The dotted name a callee refers to: ``s.rmtree`` -> ``shutil.rmtree``."""
        ast = self.ast
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            for module in self.star:
                if f"{module}.{node.id}" in _PY_DELETE or f"{module}.{node.id}" in _PY_SHELL_FIRST:
                    return f"{module}.{node.id}"
            return str(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            name = self.resolve(node.func)
            if name in ("__import__", "importlib.import_module") and node.args:
                imported = self.value(node.args[0])
                if isinstance(imported, str):
                    self.aliases.setdefault(imported.split(".")[0], imported.split(".")[0])
                    return imported
            if name == "getattr" and len(node.args) >= 2:
                attr = self.value(node.args[1])
                base = self.resolve(node.args[0])
                return f"{base}.{attr}" if isinstance(attr, str) and base else None
            if name in ("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath"):
                return "pathlib.Path()"
        if isinstance(node, ast.Name | ast.Attribute | ast.Call | ast.BinOp) and isinstance(
            self.value(node), _PathValue
        ):
            return "pathlib.Path()"
        return None

    def value(self, node: object) -> object:
        """A literal value: str, list of str, a path, or None when it is built at run time."""
        ast = self.ast
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes | int | bool):
            return node.value.decode() if isinstance(node.value, bytes) else node.value
        if isinstance(node, ast.Name):
            return self.consts.get(node.id)
        if isinstance(node, ast.JoinedStr):
            parts = [self.value(v) for v in node.values]
            return (
                "".join(str(p) for p in parts) if all(isinstance(p, str) for p in parts) else None
            )
        if isinstance(node, ast.FormattedValue):
            return self.value(node.value)
        if isinstance(node, ast.List | ast.Tuple):
            items = [self.value(e) for e in node.elts]
            return items if all(isinstance(i, str) for i in items) else None
        if isinstance(node, ast.BinOp):
            left, right = self.value(node.left), self.value(node.right)
            if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
                return left + right
            if (
                isinstance(node.op, ast.Div)
                and isinstance(left, _PathValue)
                and isinstance(right, str | _PathValue)
            ):
                return _PathValue(f"{left.path.rstrip('/')}/{right}")
            return None
        if isinstance(node, ast.Call):
            name = self.resolve(node.func) if not isinstance(node.func, ast.Call) else None
            args = [self.value(a) for a in node.args]
            if name in ("pathlib.Path", "pathlib.PurePath", "pathlib.PosixPath", "os.path.join"):
                if args and all(isinstance(a, str | _PathValue) for a in args):
                    joined = "/".join(
                        str(a).rstrip("/") if i < len(args) - 1 else str(a)
                        for i, a in enumerate(args)
                    )
                    return _PathValue(joined) if name != "os.path.join" else joined
                return None if args else _PathValue(".")
            if name in ("pathlib.Path.home", "os.path.expanduser") or (
                name and name.endswith("Path.home")
            ):
                return (
                    _PathValue("~")
                    if not args
                    else (str(args[0]) if isinstance(args[0], str) else None)
                )
        return None

    def text(self, node: object) -> str | None:
        value = self.value(node)
        if isinstance(value, _PathValue):
            return value.path
        return value if isinstance(value, str) else None

    def call(self, node: object) -> None:
        ast = self.ast
        assert isinstance(node, ast.Call)
        name = self.resolve(node.func) or ""
        args = node.args
        kwargs = {k.arg: k.value for k in node.keywords if k.arg}
        add = self.effects.append
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in ("unlink", "rmdir")
            and name not in _PY_DELETE
            and not name.startswith("os.")
        ):
            # An unknown object's .unlink()/.rmdir() is almost surely a pathlib path.
            add(
                Effect(
                    "delete", self.text(node.func.value), detail=f"pathlib.Path.{node.func.attr}"
                )
            )
            return
        if name in _PY_DELETE:
            target = self.text(args[0]) if args else self.text(kwargs.get("path"))
            add(Effect("delete", target, recursive=_PY_DELETE[name], detail=name))
        elif name in _PY_SHELL_FIRST:
            add(Effect("shell", self.shell_text(name, args, kwargs), detail=name))
        elif name in ("exec", "eval", "compile", "builtins.exec", "builtins.eval"):
            source = self.text(args[0]) if args else None
            self.effects.extend(
                _python(source) if source is not None else [Effect("opaque", detail=name)]
            )
        elif name in ("__import__", "importlib.import_module", "getattr") and args:
            index = 1 if name == "getattr" else 0
            if len(args) > index and self.value(args[index]) is None:
                add(Effect("opaque", detail=f"{name} of a name built at run time"))
        elif name in _PY_OPAQUE:
            add(Effect("opaque", detail=name))
        elif name == "open" or name in ("io.open", "builtins.open", "os.open"):
            mode = self.value(args[1]) if len(args) > 1 else self.value(kwargs.get("mode"))
            if (isinstance(mode, str) and set(mode) & set("wax+")) or name == "os.open":
                add(Effect("write", self.text(args[0]) if args else None, detail=name))
        elif isinstance(node.func, ast.Attribute) and node.func.attr in (
            "write_text",
            "write_bytes",
        ):
            add(
                Effect("write", self.text(node.func.value), detail=f"pathlib.Path.{node.func.attr}")
            )
        elif name in ("os.rename", "os.replace", "shutil.move", "os.truncate"):
            target = (
                args[1] if name != "os.truncate" and len(args) > 1 else (args[0] if args else None)
            )
            add(Effect("write", self.text(target), detail=name))
        else:
            self.call_io(node, name, args, kwargs)

    def call_io(
        self, node: object, name: str, args: list[object], kwargs: dict[str, object]
    ) -> None:
        ast = self.ast
        assert isinstance(node, ast.Call)
        module, _, verb = name.rpartition(".")
        attr = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if module.split(".")[0] in _PY_HTTP and verb in (
            "delete",
            "post",
            "put",
            "patch",
            "request",
        ):
            method = verb.upper()
            if verb == "request":
                given = self.value(args[0]) if args else self.value(kwargs.get("method"))
                method = given.upper() if isinstance(given, str) else ""
                args = args[1:]
            if method not in ("GET", "HEAD", "OPTIONS"):
                url = self.text(args[0]) if args else self.text(kwargs.get("url"))
                self.effects.append(Effect("http", url, method=method or None, detail=name))
        elif name in ("urllib.request.Request", "urllib.request.urlopen"):
            given_method = self.value(kwargs.get("method"))
            data = kwargs.get("data") or (args[1] if len(args) > 1 else None)
            if (isinstance(given_method, str) and given_method.upper() not in ("GET", "HEAD")) or (
                given_method is None and data is not None
            ):
                url = self.text(args[0]) if args else None
                self.effects.append(
                    Effect(
                        "http",
                        url,
                        method=given_method.upper() if isinstance(given_method, str) else "POST",
                        detail=name,
                    )
                )
        elif attr in ("execute", "executemany", "executescript", "exec_driver_sql"):
            db = next(
                (m for m in _PY_DB if m in {a.split(".")[0] for a in self.aliases.values()}), None
            )
            sql = self.text(args[0]) if args else None
            if db is not None or (
                sql is not None
                and re.match(
                    r"\s*(drop|delete|update|truncate|alter|insert|create|grant|select)\b",
                    sql,
                    re.I,
                )
            ):
                self.effects.append(Effect("sql", sql, detail=f"{db or 'unknown'}:{attr}"))
        elif attr in ("flushall", "flushdb") and "redis" in {
            a.split(".")[0] for a in self.aliases.values()
        }:
            self.effects.append(Effect("sql", attr.upper(), detail=f"redis:{attr}"))
        elif attr == "drop_database" and "pymongo" in {
            a.split(".")[0] for a in self.aliases.values()
        }:
            db_name = self.text(args[0]) if args else None
            self.effects.append(
                Effect(
                    "sql",
                    f"db.getSiblingDB({db_name!r}).dropDatabase()" if db_name else None,
                    detail="pymongo:drop_database",
                )
            )

    def shell_text(self, name: str, args: list[object], kwargs: dict[str, object]) -> str | None:
        if name.startswith(("os.execl", "os.spawnl")):
            skip = 2 if name.startswith("os.spawn") else 1  # (mode,) path, then argv
            words = [self.value(a) for a in args[skip:]]
            return (
                shlex.join(str(w) for w in words)
                if words and all(isinstance(w, str) for w in words)
                else None
            )
        if name.startswith(("os.execv", "os.spawnv", "os.posix_spawn")):
            argv = args[2 if name.startswith("os.spawn") else 1] if len(args) > 1 else None
            value = self.value(argv)
            return shlex.join(str(v) for v in value) if isinstance(value, list) else None
        if name == "asyncio.create_subprocess_exec":
            words = [self.value(a) for a in args]
            return (
                shlex.join(str(w) for w in words)
                if words and all(isinstance(w, str) for w in words)
                else None
            )
        first = args[0] if args else kwargs.get("args")
        value = self.value(first)
        if isinstance(value, list):
            shell = self.value(kwargs.get("shell"))
            return str(value[0]) if shell is True and value else shlex.join(str(v) for v in value)
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class _PathValue:
    path: str

    def __str__(self) -> str:
        return self.path
