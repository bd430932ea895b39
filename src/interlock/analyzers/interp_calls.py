"""Calls in node, deno, perl, ruby and php one-liners, read from :mod:`.interp_lexer` tokens.

A call is a name (with its receiver chain: ``fs.promises.rm``, ``$pdo->exec``) followed by
arguments in parentheses, or in Perl and Ruby by bare arguments up to the end of the
statement. Its name is looked up in :data:`.interp_tables.TABLES` and the rule's ``mode`` says
how the arguments become an :class:`~.interp_effect.Effect`: literal paths, a command line
joined from a list, SQL text, a URL and method.

Fail closed: an argument that is not a literal gives a target of None, code that builds code
(``eval($x)``, ``require(x)``, PHP's ``$f(…)``) is ``opaque``, and ``eval`` of a literal is
scanned as code of the same language.
"""

from __future__ import annotations

import re
import shlex

from interlock.analyzers.interp_effect import Effect
from interlock.analyzers.interp_lexer import Token, lex
from interlock.analyzers.interp_tables import TABLES, Rule, db_module

__all__ = ["scan_tokens"]

_SEPARATORS = frozenset({".", "::", "->", "?."})
_ARG_STOP = frozenset({";", "}", "or", "and", "if", "unless", "||", "&&", "do"})


def scan_tokens(language: str, code: str) -> list[Effect]:
    """The effects of node, deno, perl, ruby or php ``code``; unreadable code adds ``opaque``."""
    toks, error = lex(language, code)
    effects = _calls(language, code, toks)
    if error is not None:
        effects.append(Effect("opaque", detail=f"{language} code Interlock cannot read: {error}"))
    return effects


def _calls(language: str, code: str, toks: list[Token]) -> list[Effect]:
    table = TABLES[language]
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


def _applies(rule: Rule, has_receiver: bool, mentioned: set[str], dynamic_load: bool) -> bool:
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
    rule: Rule,
    key: str,
    args: list[list[Token]],
    table: dict[str, tuple[Rule, ...]],
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
        return scan_tokens(language, text)
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
        db = db_module(mentioned)
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
