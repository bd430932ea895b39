"""``find``: ``-delete`` deletes what it finds, ``-exec``/``-execdir``/``-ok`` run a command on it.

The start paths decide the verdict, as for ``rm -r`` (``find / -delete`` is deny). A name filter
that only selects generated files (``-name '*.pyc'``) makes an in-project ``-delete`` harmless;
any other filter inside the project is ask, since it may match hand-written files.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

from interlock.analyzers import DYN, SimpleCommand, show
from interlock.decisions import Finding, Verdict
from interlock.paths import (
    DELETE_VERDICT,
    GENERATED_DIRS,
    GENERATED_GLOBS,
    Place,
    describe,
    place_of,
)

_EXEC = ("-exec", "-execdir", "-ok", "-okdir")
_FILTERS = ("-name", "-iname", "-path", "-ipath", "-regex", "-iregex", "-wholename")
_GLOBAL = ("-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3", "-D")
_NOT_NARROWING = ("!", "-not", "-o", "-or", ",")


def analyze(
    cmd: SimpleCommand, analyze_command: Callable[[SimpleCommand], list[Finding]]
) -> list[Finding]:
    args = list(cmd.argv[1:])
    while args and (args[0] in _GLOBAL or args[0].startswith("-O")):
        args = args[2:] if args[0] == "-D" else args[1:]
    starts: list[str] = []
    while args and not args[0].startswith(("-", "(", "!")):
        starts.append(args.pop(0))
    if not starts:
        starts = ["."]
    findings: list[Finding] = []
    patterns = [args[i + 1] for i, a in enumerate(args[:-1]) if a in _FILTERS]
    if any(a in _NOT_NARROWING for a in args):
        # `! -name '*.pyc'` selects everything else; `-name '*.pyc' -o -type f -delete`
        # deletes every file: a name filter only narrows a plain conjunction.
        patterns = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-delete":
            findings.extend(_delete(cmd, starts, patterns))
        elif arg in _EXEC:
            end = index + 1
            while end < len(args) and args[end] not in (";", "+"):
                end += 1
            inner = args[index + 1 : end]
            if inner:
                for start in starts:
                    argv = tuple(a.replace("{}", start.rstrip("/") + "/" + DYN) for a in inner)
                    if not any("{}" in a for a in inner):
                        argv = tuple(inner)
                    nested = SimpleCommand(
                        argv=argv, text=cmd.text, scope=cmd.scope, via=(*cmd.via, "find")
                    )
                    findings.extend(_only_generated(analyze_command(nested), patterns))
            index = end
        index += 1
    return findings


def _generated_only(patterns: list[str]) -> bool:
    return bool(patterns) and all(
        p in GENERATED_DIRS or any(fnmatch.fnmatchcase(p, g) or p == g for g in GENERATED_GLOBS)
        for p in patterns
    )


def _only_generated(findings: list[Finding], patterns: list[str]) -> list[Finding]:
    """``find . -name '*.pyc' -exec rm {} +`` deletes only generated files."""
    if not _generated_only(patterns):
        return findings
    return [
        f for f in findings if not f.operation.startswith("fs.delete") or f.verdict is Verdict.DENY
    ]


def _delete(cmd: SimpleCommand, starts: list[str], patterns: list[str]) -> list[Finding]:
    findings = []
    for start in starts:
        place = place_of(start, cmd.scope)
        if place is Place.SYSTEM and patterns:
            # `find /tmp -name '*.log' -delete` is `rm /tmp/*.log` at any depth: scratch
            # files when every name filter is one (paths.place_of: not "/tmp/*").
            found = [place_of(start.rstrip("/") + "/" + p, cmd.scope) for p in patterns]
            if all(f is Place.TEMP for f in found):
                place = Place.TEMP
        verdict = DELETE_VERDICT[place]
        if place is Place.PROJECT_ROOT or place is Place.PROJECT_SOURCE:
            verdict = Verdict.ALLOW if _generated_only(patterns) else Verdict.ASK
        if verdict is Verdict.ALLOW:
            continue
        filtered = f" matching {', '.join(patterns)}" if patterns else ""
        findings.append(
            Finding(
                operation="fs.delete_recursive",
                summary=f"deletes everything{filtered} under {describe(start, place)}",
                verdict=verdict,
                rule="fs.find_delete",
                targets=(show(start),),
                environment=cmd.scope.environment,
                reversible=False,
                evidence=cmd.text,
            )
        )
    return findings
