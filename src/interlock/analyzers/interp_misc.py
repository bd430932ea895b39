"""One-liners in Lua, R, AppleScript and PowerShell: ``lua -e``, ``Rscript -e``, ``osascript -e``,
``pwsh -Command``.

Red-team misses (2025): each ran ``rm -rf ~`` through its own call (``os.execute``, ``system``,
``do shell script``) or deleted a tree itself (``unlink(recursive=TRUE)``, ``Remove-Item
-Recurse``) and was allowed. These languages get a small reader each, returning the same
:class:`~interlock.analyzers.interp_effect.Effect` values as the others: calls with a literal
argument are judged by it, a built argument is ``None`` (ask), code built from strings is
``opaque``.
"""

from __future__ import annotations

import shlex

from interlock.analyzers.interp_effect import Effect

__all__ = ["scan_misc"]

# name -> (effect kind, recursive); "opaque" means code built at run time.
_CALLS: dict[str, dict[str, tuple[str, bool]]] = {
    "lua": {
        "os.execute": ("shell", False), "io.popen": ("shell", False),
        "os.remove": ("delete", False), "os.rename": ("write", False),
        "load": ("opaque", False), "loadstring": ("opaque", False), "dofile": ("opaque", False),
    },
    "r": {
        "system": ("shell", False), "system2": ("shell", False), "shell": ("shell", False),
        "unlink": ("delete", False), "file.remove": ("delete", False),
        "eval": ("opaque", False), "parse": ("opaque", False), "source": ("opaque", False),
    },
    "applescript": {"do shell script": ("shell", False), "delete": ("opaque", False)},
}  # fmt: skip
_CONCAT = frozenset({"..", "&", "+", "paste", "paste0", "sprintf"})


def scan_misc(language: str, code: str) -> list[Effect]:
    if language == "powershell":
        return _powershell(code)
    tokens, error = _tokens(language, code)
    if error:
        return [Effect("opaque", detail=f"{language} code Interlock cannot read: {error}")]
    table = _CALLS[language]
    effects: list[Effect] = []
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        name = text
        if language == "applescript" and kind == "word":
            joined = " ".join(t for _, t in tokens[index : index + 3])
            if joined == "do shell script":
                name, index = joined, index + 2
        if kind != "word" or name not in table:
            index += 1
            continue
        effect_kind, _ = table[name]
        args, end = _call_args(tokens, index + 1)
        index = end
        detail = f"{language}:{name}"
        if effect_kind == "opaque":
            if name == "delete" or not (len(args) == 1 and args[0][0] == "string"):
                effects.append(Effect("opaque", detail=detail))
            continue
        strings = [t for k, t in args if k == "string"]
        literal = bool(args) and args[0][0] == "string" and not any(t in _CONCAT for _, t in args)
        if effect_kind == "shell":
            target = " ".join(strings) if literal and name == "system2" else None
            if literal and name != "system2":
                target = strings[0]
            effects.append(Effect("shell", target, detail=detail))
        else:
            target = strings[-1] if effect_kind == "write" and literal else None
            if effect_kind == "delete" and literal:
                target = strings[0]
            recursive = any(
                t == "recursive" and i + 2 < len(args) and args[i + 2][1] in ("TRUE", "T")
                for i, (_, t) in enumerate(args)
            )
            effects.append(Effect(effect_kind, target, recursive=recursive, detail=detail))  # type: ignore[arg-type]
    return effects


def _call_args(tokens: list[tuple[str, str]], at: int) -> tuple[list[tuple[str, str]], int]:
    """The tokens of one call's arguments: ``(…)`` or, without parentheses, the rest of the line."""
    if at < len(tokens) and tokens[at][1] == "(":
        depth, end = 0, at
        while end < len(tokens):
            if tokens[end][1] == "(":
                depth += 1
            elif tokens[end][1] == ")":
                depth -= 1
                if depth == 0:
                    break
            end += 1
        return [t for t in tokens[at + 1 : end] if t[1] != ","], end + 1
    end = at
    while end < len(tokens) and tokens[end][1] not in (";", "\n", ")"):
        end += 1
    return tokens[at:end], end


def _tokens(language: str, code: str) -> tuple[list[tuple[str, str]], str]:
    """Words (with dots), strings (contents) and single characters; comments dropped."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(code)
    line_comments = {"lua": ("--",), "r": ("#",), "applescript": ("--", "#")}[language]
    while i < n:
        c = code[i]
        if code.startswith(line_comments, i):
            if language == "lua" and code.startswith("--[[", i):
                end = code.find("]]", i)
                if end < 0:
                    return out, "an unclosed comment"
                i = end + 2
                continue
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if language == "applescript" and code.startswith("(*", i):
            end = code.find("*)", i)
            if end < 0:
                return out, "an unclosed comment"
            i = end + 2
            continue
        if language == "lua" and code.startswith("[[", i):
            end = code.find("]]", i)
            if end < 0:
                return out, "an unclosed string"
            out.append(("string", code[i + 2 : end]))
            i = end + 2
            continue
        if c in "\"'":
            j, text = i + 1, []
            while j < n and code[j] != c:
                if code[j] == "\\" and j + 1 < n:
                    text.append({"n": "\n", "t": "\t"}.get(code[j + 1], code[j + 1]))
                    j += 2
                    continue
                text.append(code[j])
                j += 1
            if j >= n:
                return out, "an unclosed string"
            out.append(("string", "".join(text)))
            i = j + 1
            continue
        if c.isalnum() or c in "_.":
            j = i
            while j < n and (code[j].isalnum() or code[j] in "_."):
                j += 1
            word = code[i:j]
            out.append(("word", word))
            i = j
            continue
        if c == "\n":
            out.append(("punct", "\n"))
        elif not c.isspace():
            out.append(("punct", c))
        i += 1
    return out, ""


# ----------------------------------------------------------------------------------- PowerShell

_PS_REMOVE = frozenset({"remove-item", "ri", "del", "erase", "rd", "rm", "rmdir"})
_PS_WRITE = frozenset({"clear-content", "clc", "set-content", "sc", "out-file", "add-content",
                       "ac"})  # fmt: skip
_PS_EVAL = frozenset({"invoke-expression", "iex"})
_PS_START = frozenset({"start-process", "saps", "start"})
_PS_WEB = frozenset({"invoke-webrequest", "iwr", "invoke-restmethod", "irm"})
_PS_DESTROY = frozenset({"format-volume", "clear-disk", "remove-partition", "initialize-disk",
                         "stop-computer", "restart-computer"})  # fmt: skip
_PS_VALUES = ("-path", "-literalpath", "-lp", "-filter", "-include", "-exclude", "-credential",
              "-stream", "-value", "-encoding", "-filepath", "-argumentlist", "-uri", "-method",
              "-body", "-headers", "-contenttype", "-workingdirectory")  # fmt: skip


def _powershell(code: str) -> list[Effect]:
    lexer = shlex.shlex(code, posix=True, punctuation_chars=";|&")
    lexer.escape = "`"
    lexer.whitespace_split = True
    try:
        words = list(lexer)
    except ValueError as exc:
        return [Effect("opaque", detail=f"powershell code Interlock cannot read: {exc}")]
    effects: list[Effect] = []
    statement: list[str] = []
    for word in [*words, ";"]:
        if word and set(word) <= set(";|&"):
            if statement:
                effects += _ps_statement(statement)
            statement = []
        else:
            statement.append(word)
    return effects


def _ps_params(words: list[str]) -> tuple[dict[str, str], list[str], set[str]]:
    values: dict[str, str] = {}
    positionals: list[str] = []
    flags: set[str] = set()
    index = 0
    while index < len(words):
        word = words[index]
        lowered = word.lower()
        if lowered.startswith("-") and len(word) > 1:
            name, colon, _ = lowered.partition(":")
            match = next((v for v in _PS_VALUES if v.startswith(name) and len(name) > 2), None)
            if match is not None:
                values[match] = (
                    word.split(":", 1)[1]
                    if colon
                    else (words[index + 1] if index + 1 < len(words) else "")
                )
                index += 1 if colon else 2
                continue
            flags.add(name)
        else:
            positionals.append(word)
        index += 1
    return values, positionals, flags


def _ps_statement(words: list[str]) -> list[Effect]:
    if words[0] in ("&", ".") and len(words) > 1:
        words = words[1:]
    name = words[0].lower()
    values, positionals, flags = _ps_params(words[1:])
    detail = f"powershell:{words[0]}"
    if name in _PS_REMOVE:
        recursive = any("-recurse".startswith(f) and len(f) > 1 for f in flags)
        target = (
            values.get("-path")
            or values.get("-literalpath")
            or (positionals[0] if positionals else None)
        )
        out = [Effect("delete", target, recursive=recursive, detail=detail)]
        if name in ("rm", "rmdir"):
            out.append(Effect("shell", shlex.join(words), detail=detail))  # the Unix program
        return out
    if name in _PS_WRITE:
        target = (
            values.get("-path")
            or values.get("-filepath")
            or (positionals[0] if positionals else None)
        )
        return [Effect("write", target, detail=detail)]
    if name in _PS_EVAL:
        text = values.get("-command") or (positionals[0] if positionals else None)
        return _powershell(text) if text else [Effect("opaque", detail=detail)]
    if name in _PS_START:
        program = values.get("-filepath") or (positionals[0] if positionals else None)
        if program is None:
            return [Effect("shell", None, detail=detail)]
        rest = values.get("-argumentlist", " ".join(positionals[1:]))
        return [Effect("shell", f"{program} {rest}".strip(), detail=detail)]
    if name in _PS_WEB:
        method = values.get("-method", "GET").upper()
        url = values.get("-uri") or (positionals[0] if positionals else None)
        return (
            []
            if method in ("GET", "HEAD", "OPTIONS")
            else [Effect("http", url, method=method, detail=detail)]
        )
    if name in _PS_DESTROY:
        return [Effect("opaque", detail=detail)]
    if name.startswith(("remove-", "clear-", "uninstall-")) and name not in (
        "remove-variable", "clear-host", "clear-variable", "remove-module",
    ):  # fmt: skip
        return [Effect("api", " ".join(words), detail=detail)]
    if name in ("cmd", "cmd.exe") and len(words) > 2 and words[1].lower() in ("/c", "/k"):
        return [Effect("shell", " ".join(words[2:]), detail=detail)]
    if "-" in name.strip("-") or name.startswith("$") or name in ("echo", "write", "cd"):
        return []  # other cmdlets read or print; `$x = …` assigns
    return [Effect("shell", shlex.join(words), detail=detail)]  # a native program
