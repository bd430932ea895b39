"""One simple command: unwrap wrappers, follow what it hands to another program, ask the catalogs.

Order, for ``sudo -u pg env FOO=1 bash -c 'psql -c "DROP TABLE t"'``:

1. The command name must be known: ``$x -rf /`` is ``ask`` (CCSN allowed it, peers.md §d).
2. Wrappers are removed recursively (:mod:`.wrappers`), remembering them in ``via``.
3. Programs that run other code get that code analyzed as what it is: shells (``-c``, stdin),
   ``eval``, ``source /dev/stdin``, interpreter one-liners, ``find -exec``/``-delete``,
   ``xargs``/``parallel``, ``ssh host '…'``, database clients (SQL) and HTTP clients (requests).
4. Everything else is matched against the catalogs of destructive operations.
"""

from __future__ import annotations

import re
from dataclasses import replace

from interlock.analyzers import DYN, SimpleCommand, is_dynamic, show, unknown
from interlock.analyzers import wrappers as wrap
from interlock.decisions import Finding

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "fish", "ash", "busybox"})
INTERPRETERS = {
    "python": "python", "node": "node", "nodejs": "node", "perl": "perl", "ruby": "ruby",
    "php": "php", "deno": "deno", "bun": "node",
}  # fmt: skip
CODE_FLAGS = {
    "python": ("-c",), "node": ("-e", "--eval", "-p", "--print"), "perl": ("-e", "-E"),
    "ruby": ("-e",), "php": ("-r",), "deno": (),
}  # fmt: skip
STDIN_NAMES = ("/dev/stdin", "/proc/self/fd/0", "/dev/fd/0", "-")


def analyze_command(cmd: SimpleCommand) -> list[Finding]:
    if not cmd.argv:
        return []
    if cmd.scope.depth > 8:
        from interlock.analyzers.shell import unparsed

        return [unparsed(cmd.text, "wrappers nested too deep")]
    name = cmd.name
    if is_dynamic(cmd.argv[0]):
        return [_dynamic_name(cmd)]
    written = _written_script(cmd, cmd.argv[0])
    if written is not None:
        from interlock.analyzers.shell import analyze_nested

        return analyze_nested(written, cmd.scope, cmd.scope.cwd)
    if name in ("alias", "trap"):
        return _deferred_code(cmd)
    unwrapped = wrap.unwrap(cmd)
    if unwrapped is not None:
        return _follow(unwrapped, cmd)
    base = _program(name)
    if base in SHELLS or name in ("eval", "source", "."):
        return _shell(cmd)
    if base in INTERPRETERS:
        return _interpreter(cmd, INTERPRETERS[base])
    if name in ("awk", "gawk", "mawk", "nawk", "busybox-awk"):
        return _awk(cmd)
    if name == "find":
        from interlock.analyzers import find

        return find.analyze(cmd, analyze_command)
    from interlock.analyzers import clients

    handled = clients.analyze(cmd)
    if handled is not None:
        return handled
    from interlock.analyzers import catalog

    return catalog.match(cmd)


def _written_script(cmd: SimpleCommand, word: str) -> str | None:
    """The content of a file written earlier in the same string (``echo … > x.sh; sh x.sh``)."""
    if not cmd.scripts or is_dynamic(word):
        return None
    from interlock.paths import resolve

    return dict(cmd.scripts).get(resolve(word, cmd.scope))


def _deferred_code(cmd: SimpleCommand) -> list[Finding]:
    """``alias x='…'`` and ``trap '…' EXIT`` hold code that runs later: judge it now."""
    from interlock.analyzers.shell import analyze_nested

    args = cmd.argv[1:]
    if cmd.name == "alias":
        bodies = [a.split("=", 1)[1] for a in args if "=" in a]
    else:
        bodies = list(args[:1]) if args and args[0] not in ("-l", "-p", "--", "-") else []
    findings: list[Finding] = []
    for body in bodies:
        if is_dynamic(body):
            findings.append(opaque(cmd, f"{cmd.name} stores code only known at run time"))
        else:
            findings.extend(analyze_nested(body, cmd.scope, cmd.scope.cwd))
    return findings


def _program(name: str) -> str:
    """``python3.11`` -> ``python``; ``bash`` -> ``bash``."""
    stripped = name.rstrip("0123456789.")
    return stripped if stripped in INTERPRETERS else name


def _follow(result: wrap.Unwrapped, outer: SimpleCommand) -> list[Finding]:
    if result.script is not None:
        from interlock.analyzers.shell import analyze_nested

        scope = result.scope or outer.scope
        return analyze_nested(result.script, scope, scope.cwd)
    if not result.argv:
        return []
    inner = replace(
        outer,
        argv=result.argv,
        assignments=outer.assignments + result.assignments,
        via=(*outer.via, outer.name),
        scope=result.scope or outer.scope,
        stdin=None if result.stdin_unknown else outer.stdin,
        stdin_unknown=result.stdin_unknown or outer.stdin_unknown,
    )
    from interlock.analyzers.shell import MAX_NESTING, unparsed

    if len(inner.via) > MAX_NESTING:  # `sudo ` 5,000 times overflowed the stack (red-team)
        return [unparsed(outer.text, f"more than {MAX_NESTING} wrappers around one command")]
    return analyze_command(inner)


def _dynamic_name(cmd: SimpleCommand) -> Finding:
    return unknown(
        f"runs a program whose name is only known at run time (`{show(cmd.argv[0])}`)",
        rule="shell.dynamic_command",
        operation="shell.dynamic_command",
        evidence=cmd.text,
    )


def opaque(cmd: SimpleCommand, what: str) -> Finding:
    """Code is run that cannot be inspected: at least ask, never allow."""
    return unknown(
        what, rule="shell.opaque_code", environment=cmd.scope.environment, evidence=cmd.text
    )


def _stdin_code(cmd: SimpleCommand, language: str) -> list[Finding] | None:
    """Code read from standard input: analyzed when literal, ask when not."""
    if cmd.stdin is not None and not cmd.stdin_unknown:
        if language == "shell":
            from interlock.analyzers.shell import analyze_nested

            return analyze_nested(cmd.stdin, cmd.scope, cmd.scope.cwd)
        return _code(cmd, language, cmd.stdin)
    if cmd.stdin_unknown:
        return [
            opaque(
                cmd,
                f"pipes content that cannot be inspected (a download, decoded data or a file) "
                f"into {cmd.name}, which runs it",
            )
        ]
    return None


def _shell(cmd: SimpleCommand) -> list[Finding]:
    from interlock.analyzers.shell import analyze_nested

    args = list(cmd.argv[1:])
    name = cmd.name
    if name == "busybox" and args and args[0] in SHELLS:
        args = args[1:]
    if name == "eval":
        if any(is_dynamic(a) for a in args):
            return [opaque(cmd, "evaluates a string that is only known at run time")]
        return analyze_nested(" ".join(args), cmd.scope, cmd.scope.cwd)
    if name in ("source", "."):
        if not args:
            return []
        target = args[0]
        if target in STDIN_NAMES or is_dynamic(target):
            found = _stdin_code(cmd, "shell")
            if found is not None and target in STDIN_NAMES:
                return found
            return [opaque(cmd, f"sources code that cannot be inspected ({show(target)})")]
        return []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            index += 1
            break
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            if index + 1 >= len(args):
                return [opaque(cmd, "runs a shell with -c but no command")]
            script = args[index + 1]
            if is_dynamic(script) and script.strip(DYN + " ") == "":
                return [opaque(cmd, "runs a shell command that is only known at run time")]
            return analyze_nested(script.replace(DYN, "__unknown__"), cmd.scope, cmd.scope.cwd)
        if arg in ("-o", "-O", "+o", "+O", "--rcfile", "--init-file"):
            index += 2
            continue
        if arg.startswith(("-", "+")) and arg not in ("-", "-s"):
            index += 1
            continue
        break
    rest = args[index:]
    if not rest or rest[0] in ("-", "-s", *STDIN_NAMES):
        found = _stdin_code(cmd, "shell")
        return found or []
    if is_dynamic(rest[0]):
        return [
            opaque(cmd, f"runs a script whose path is only known at run time ({show(rest[0])})")
        ]
    written = _written_script(cmd, rest[0])
    if written is not None:
        return analyze_nested(written, cmd.scope, cmd.scope.cwd)
    # A script file from the project: its content is not inspected here; hooks are not the
    # boundary (ARCHITECTURE.md), the gateways are.
    return []


def _interpreter(cmd: SimpleCommand, language: str) -> list[Finding]:
    args = list(cmd.argv[1:])
    flags = CODE_FLAGS[language]
    if language == "deno":
        if len(args) >= 2 and args[0] == "eval":
            return _code(cmd, language, args[1])
        return []
    for index, arg in enumerate(args):
        perl_code = language == "perl" and arg.startswith("-") and not arg.startswith("--")
        if perl_code and arg[-1] in "eE" and index + 1 < len(args):
            return _code(cmd, language, args[index + 1])
        if arg in flags and index + 1 < len(args):
            return _code(cmd, language, args[index + 1])
        for flag in flags:
            if len(flag) == 2 and arg.startswith(flag) and len(arg) > 2 and arg[1] != "-":
                return _code(cmd, language, arg[2:])
        if arg == "-m" or not arg.startswith("-"):
            if arg == "-":
                return _stdin_code(cmd, language) or []
            written = _written_script(cmd, arg)
            if written is not None:
                return _code(cmd, language, written)
            # A script or module (manage.py flush, artisan migrate:fresh): the catalogs know
            # the destructive ones.
            from interlock.analyzers import catalog

            return catalog.match(cmd)
    found = _stdin_code(cmd, language)
    return found or []


_AWK_SYSTEM = re.compile(r"""\bsystem\s*\(\s*(?:"((?:[^"\\]|\\.)*)"|([^)]*))\)""")
_AWK_PIPE = re.compile(r"""\|\s*(?:&\s*)?"((?:[^"\\]|\\.)*)"|"((?:[^"\\]|\\.)*)"\s*\|\s*getline""")


def _awk(cmd: SimpleCommand) -> list[Finding]:
    """awk runs shell commands through ``system("…")`` and ``print | "cmd"``."""
    from interlock.analyzers.shell import analyze_nested

    program = next((a for a in cmd.argv[1:] if not a.startswith("-")), "")
    findings: list[Finding] = []
    for match in _AWK_SYSTEM.finditer(program):
        literal, other = match.group(1), match.group(2)
        if literal is not None:
            findings.extend(analyze_nested(literal, cmd.scope, cmd.scope.cwd))
        elif other is not None:
            findings.append(opaque(cmd, "awk runs a shell command built at run time"))
    for match in _AWK_PIPE.finditer(program):
        literal = (match.group(1) if match.group(1) is not None else match.group(2)) or ""
        words = literal.split()
        if words and (words[0] in SHELLS or _program(words[0]) in INTERPRETERS):
            findings.append(opaque(cmd, f"awk pipes text it builds into {words[0]}, which runs it"))
        else:
            findings.extend(analyze_nested(literal, cmd.scope, cmd.scope.cwd))
    return findings


def _code(cmd: SimpleCommand, language: str, code: str) -> list[Finding]:
    """Findings for an interpreter one-liner, from the effects :mod:`.interpreters` reports."""
    if is_dynamic(code) and not code.replace(DYN, "").strip():
        return [opaque(cmd, f"runs {language} code that is only known at run time")]
    from interlock.analyzers import effects

    return effects.findings(cmd, language, code.replace(DYN, "__unknown__"), analyze_command)
