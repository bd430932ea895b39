"""An agent's own tools: file reads and writes, and MCP tool calls.

A read of a credential file is how the PocketOS agent found its token (peers.md §e.3): ask. A
write is judged by where it lands (:mod:`interlock.paths`), and a shell redirection is the same
file access spelled in shell, so :func:`redirect` judges ``< f``, ``> f`` and ``>> f`` by the
same tables: ``cat < ~/.aws/credentials`` is a credential read, ``echo x >> /etc/passwd`` a
write into a system file, ``echo {} > .claude/settings.json`` the agent switching its own
guard off. An MCP tool is judged by what it carries: a ``command`` argument is shell, a
``sql``/``query`` argument is SQL, and a tool whose name says it deletes asks.
"""

from __future__ import annotations

import re

from interlock.actions import ToolCallAction
from interlock.analyzers import Scope, show
from interlock.decisions import Finding, Verdict

_DESTRUCTIVE_NAME = re.compile(
    r"(delete|destroy|drop|remove|purge|wipe|truncate|terminate|reset|erase|revoke|\brm\b)",
    re.IGNORECASE,
)
_SQL_KEYS = ("sql", "query", "statement")
_SHELL_KEYS = ("command", "cmd", "script")


def analyze(action: ToolCallAction, scope: Scope) -> list[Finding]:
    if action.operation in ("read", "write"):
        return _file(action, scope)
    return _call(action, scope)


def _file(action: ToolCallAction, scope: Scope) -> list[Finding]:
    if not action.path:
        return []
    evidence = f"{action.tool} {action.path}"
    if action.operation == "read":
        return _read(action.path, scope, "tools.read_credential", evidence)
    return _write(action.path, scope, "write", evidence)


# Redirection operators (tree-sitter-bash's file_redirect) by what they do to the file.
_READS = frozenset({"<", "<>", "<&"})
_TRUNCATES = frozenset({">", ">|", "&>", ">&"})
_APPENDS = frozenset({">>", "&>>", "<>"})


def redirect(operator: str, word: str, scope: Scope, evidence: str) -> list[Finding]:
    """Findings for one redirection: ``operator`` (``>``, ``>>``, ``<`` …) to or from ``word``.

    ``2>&1``, ``<&0`` and ``>&-`` name file descriptors, not files: nothing to judge.
    """
    if not word or word.isdigit() or word == "-" or (word[:-1].isdigit() and word[-1] == "-"):
        return []
    findings: list[Finding] = []
    if operator in _READS:
        findings += _read(word, scope, "fs.redirect_read_credential", evidence)
    if operator in _TRUNCATES:
        findings += _write(word, scope, "truncate", evidence, operator)
    elif operator in _APPENDS:
        findings += _write(word, scope, "append", evidence, operator)
    return findings


GUARD_VARIABLE_PREFIX = "INTERLOCK_"


def guard_variable(name: str, scope: Scope, evidence: str) -> list[Finding]:
    """A finding for setting one of Interlock's own variables in a command (ask).

    ``INTERLOCK_CONFIG`` swaps the policy, ``INTERLOCK_AUDIT_LOG`` sends the audit log
    elsewhere, ``INTERLOCK_ENV`` names the environment and ``INTERLOCK_RUNTIME_DIR`` the folder
    of the warm process's socket: set where a hook or ``interlock`` inherits them, each moves
    the guard. For ``NAME=value`` prefixes, ``export``/``declare`` and bare assignments alike.
    """
    if not name.startswith(GUARD_VARIABLE_PREFIX):
        return []
    return [
        Finding(
            operation="agent.guard_env",
            summary=f"sets {name}, one of Interlock's own settings: it can change how the agent "
            "is guarded",
            verdict=Verdict.ASK,
            rule="tools.guard_variable",
            targets=(name,),
            environment=scope.environment,
            reversible=True,
            evidence=evidence,
        )
    ]


def _read(word: str, scope: Scope, rule: str, evidence: str) -> list[Finding]:
    from interlock.paths import Place, describe, is_credential, resolve

    # By name or by location; public keys are not secrets (paths.is_credential).
    if not is_credential(resolve(word, scope), scope):
        return []
    return [
        Finding(
            operation="secret.read",
            summary=f"reads {describe(word, Place.CREDENTIAL)}: the agent would hold a credential",
            verdict=Verdict.ASK,
            rule=rule,
            targets=(show(word),),
            environment=scope.environment,
            reversible=False,
            evidence=evidence,
        )
    ]


def _write(word: str, scope: Scope, how: str, evidence: str, operator: str = "") -> list[Finding]:
    """``how``: "write" (a file tool), "truncate" (``>``) or "append" (``>>``)."""
    from interlock.paths import APPEND_VERDICT, WRITE_VERDICT, Place, describe, place_of

    place = place_of(word, scope)
    verdict = (APPEND_VERDICT if how == "append" else WRITE_VERDICT)[place]
    if verdict is Verdict.ALLOW:
        return []
    where = describe(word, place)
    if how == "write":
        summary = f"writes to {where}"
        rule = "tools.write_guard" if place is Place.GUARD else "tools.write_outside_project"
        operation = "fs.write"
    elif how == "append":
        summary = f"appends to {where} with a `{operator}` redirection"
        rule, operation = "fs.redirect_append", "fs.append"
    else:
        summary = f"overwrites {where} with a `{operator}` redirection"
        rule, operation = "fs.redirect_truncate", "fs.overwrite"
    if place is Place.GUARD:
        summary += ": the agent could switch its own guard off"
    return [
        Finding(
            operation=operation,
            summary=summary,
            verdict=verdict,
            rule=rule,
            targets=(show(word),),
            environment=scope.environment,
            reversible=False,
            evidence=evidence,
        )
    ]


def _call(action: ToolCallAction, scope: Scope) -> list[Finding]:
    findings: list[Finding] = []
    arguments = dict(action.arguments)
    for key in _SHELL_KEYS:
        value = arguments.get(key)
        if isinstance(value, str):
            from interlock.analyzers import shell

            findings.extend(shell.analyze(value, scope))
    for key in _SQL_KEYS:
        value = arguments.get(key)
        if isinstance(value, str):
            from interlock.analyzers import sql

            findings.extend(sql.analyze(value, "postgres", scope))
    if _DESTRUCTIVE_NAME.search(action.tool.replace("_", " ")):
        findings.append(
            Finding(
                operation="tool.destructive_call",
                summary=f"calls the tool {action.tool}, whose name says it deletes or resets",
                verdict=Verdict.ASK,
                rule="tools.destructive_name",
                targets=(action.tool,),
                environment=scope.environment,
                evidence=action.tool,
            )
        )
    return findings
