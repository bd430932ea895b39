"""The token lexer for one-liners in node, deno, perl, ruby and php.

The standard library parses none of these languages, and a regular expression over the
source cannot tell a call from the same word in a comment or a string, nor see the code inside
an interpolation. One lexer, tuned per language by a :class:`_Syntax` row, drops comments and
turns string literals, backticks, ``qw``/``%w`` word lists and regex literals into single
tokens, lexing the code inside ``${…}`` / ``#{…}`` interpolations as code. It knows nothing of
calls or effects: :mod:`.interp_calls` reads those from the tokens, and the SQL analyzer
reuses it for mongosh JavaScript.

An unclosed string, comment or interpolation is reported as an error next to the tokens read
so far, so the caller can fail closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Token", "lex"]


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
            if start >= len(self.code):
                raise _LexError(f"unterminated {op} at offset {m.start()}")
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
