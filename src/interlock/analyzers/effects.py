"""Interpreter one-liners: the effects :mod:`.interpreters` finds, judged like shell commands.

``python3 -c 'import shutil; shutil.rmtree("/")'`` deletes ``/`` as surely as ``rm -rf /``; a
literal ``os.system("rm -rf ~")`` is the shell command it names; code that cannot be read
(``exec(base64…)``, a non-literal path) is at least ask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, cast

from interlock.analyzers import SimpleCommand, interpreters, shell, show
from interlock.decisions import Finding, Verdict
from interlock.paths import DELETE_VERDICT, WRITE_VERDICT, describe, place_of

Language = Literal[
    "python", "node", "perl", "ruby", "php", "deno", "lua", "r", "applescript", "powershell"
]


def findings(
    cmd: SimpleCommand,
    language: str,
    code: str,
    analyze_command: Callable[[SimpleCommand], list[Finding]],
) -> list[Finding]:
    out: list[Finding] = []
    try:
        effects = interpreters.scan(cast(Language, language), code)
    except Exception as exc:  # a reader bug must not decide: the code is unread, so ask
        return [
            _opaque(cmd, f"runs {language} code Interlock could not read ({type(exc).__name__})")
        ]
    for effect in effects:
        detail = effect.detail or language
        if effect.kind == "shell":
            if effect.target is None:
                out.append(_opaque(cmd, f"{detail} runs a command only known at run time"))
            else:
                out.extend(shell.analyze_nested(effect.target, cmd.scope, cmd.scope.cwd))
        elif effect.kind in ("delete", "write"):
            if effect.target is None:
                out.append(_opaque(cmd, f"{detail} {effect.kind}s a path only known at run time"))
                continue
            place = place_of(effect.target, cmd.scope)
            table = (
                DELETE_VERDICT if effect.kind == "delete" and effect.recursive else WRITE_VERDICT
            )
            verdict = table[place]
            if verdict is Verdict.ALLOW:
                continue
            verb = (
                "recursively deletes"
                if effect.recursive
                else ("deletes" if effect.kind == "delete" else "overwrites")
            )
            out.append(
                Finding(
                    operation="fs.delete_recursive" if effect.recursive else f"fs.{effect.kind}",
                    summary=f"{verb} {describe(effect.target, place)} ({detail})",
                    verdict=verdict,
                    rule=f"interpreter.{language}.{effect.kind}",
                    targets=(show(effect.target),),
                    environment=cmd.scope.environment,
                    reversible=False,
                    evidence=cmd.text,
                )
            )
        elif effect.kind == "sql":
            if effect.target is None:
                out.append(_opaque(cmd, f"{detail} runs SQL only known at run time"))
            else:
                from interlock.analyzers import sql

                dialect = interpreters.sql_dialect(effect)
                out.extend(sql.analyze(effect.target, dialect, cmd.scope))
        elif effect.kind == "http":
            if effect.target is None:
                method = (effect.method or "").upper()
                if method not in ("GET", "HEAD", "OPTIONS"):
                    out.append(_opaque(cmd, f"{detail} sends a request to an unknown address"))
            else:
                from interlock.analyzers import http

                out.extend(http.analyze(effect.method or "GET", effect.target, {}, "", cmd.scope))
        elif effect.kind == "api":
            out.append(
                Finding(
                    operation="api.delete",
                    summary=f"calls {effect.target or detail} through an SDK client ({detail})",
                    verdict=Verdict.ASK,
                    rule=f"interpreter.{language}.api_delete",
                    targets=(effect.target,) if effect.target else (),
                    environment=cmd.scope.environment,
                    reversible=False,
                    evidence=cmd.text,
                )
            )
        else:
            out.append(_opaque(cmd, f"runs {language} code that cannot be inspected ({detail})"))
    return out


def _opaque(cmd: SimpleCommand, what: str) -> Finding:
    from interlock.analyzers.commands import opaque

    return opaque(cmd, what)
