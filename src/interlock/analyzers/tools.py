"""An agent's own tools: file reads and writes, and MCP tool calls.

A read of a credential file is how the PocketOS agent found its token (peers.md §e.3): ask. A
write is judged by where it lands, like a ``>`` redirection. An MCP tool is judged by what it
carries: a ``command`` argument is shell, a ``sql``/``query`` argument is SQL, and a tool whose
name says it deletes asks.
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
    from interlock.paths import WRITE_VERDICT, Place, describe, is_credential, place_of, resolve

    if not action.path:
        return []
    place = place_of(action.path, scope)
    if action.operation == "read":
        # By name or by location; public keys are not secrets (paths.is_credential).
        if not is_credential(resolve(action.path, scope), scope):
            return []
        place = Place.CREDENTIAL
        return [
            Finding(
                operation="secret.read",
                summary=f"reads {describe(action.path, place)}: the agent would hold a credential",
                verdict=Verdict.ASK,
                rule="tools.read_credential",
                targets=(show(action.path),),
                environment=scope.environment,
                reversible=False,
                evidence=f"{action.tool} {action.path}",
            )
        ]
    verdict = WRITE_VERDICT[place]
    if verdict is Verdict.ALLOW:
        return []
    return [
        Finding(
            operation="fs.write",
            summary=f"writes to {describe(action.path, place)}",
            verdict=verdict,
            rule="tools.write_outside_project",
            targets=(show(action.path),),
            environment=scope.environment,
            reversible=False,
            evidence=f"{action.tool} {action.path}",
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
