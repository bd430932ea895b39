"""The card a human decides on: what would happen, where, whether it can be undone, who asked.

Built once, when a request is filed, from the server's own decision about the exact action (the
hook's verdict is not trusted for what is shown). Every string is masked: the card shows the
exact command with its secrets replaced, never the secrets.
"""

from __future__ import annotations

import json
from typing import Any

from interlock.actions import Action
from interlock.audit import action_text
from interlock.config import Policy
from interlock.decisions import Decision, Verdict
from interlock.environments import UNKNOWN
from interlock.secrets import mask, mask_json

_DETAIL_LIMIT = 20_000


def environment_of(
    decision: Decision, action: Action, policy: Policy, server: Policy | None = None
) -> tuple[str | None, bool]:
    """The environment the card names, and whether it is production (unknown counts as one).

    A name is production when the project's policy *or* the server's says so: a project that
    leaves a production name out of its list does not get its quorum lowered that way.
    """
    envs = [f.environment for f in decision.findings if f.environment] or (
        [action.env] if action.env else []
    )

    def production(name: str) -> bool:
        return (
            name == UNKNOWN
            or policy.is_production(name)
            or bool(server and server.is_production(name))
        )

    ordered = sorted(set(envs), key=lambda e: (not production(e), e))
    return (ordered[0] if ordered else None), any(production(e) for e in envs)


def build(
    action: Action, decision: Decision, policy: Policy, reason: str, server: Policy | None = None
) -> dict[str, Any]:
    flagged = [f for f in decision.findings if f.verdict is not Verdict.ALLOW] or list(
        decision.findings
    )
    environment, production = environment_of(decision, action, policy, server)
    irreversible = any(f.reversible is False for f in flagged)
    return {
        "kind": action.kind,
        "text": mask(action_text(action))[:_DETAIL_LIMIT],
        "detail": _detail(action),
        "cwd": action.cwd,
        "environment": environment,
        "production": production,
        "reversible": None if not flagged else (False if irreversible else _reversible(flagged)),
        "operations": list(dict.fromkeys(f.operation for f in flagged)),
        "findings": [
            {
                "operation": f.operation,
                "summary": mask(f.summary),
                "targets": [mask(t) for t in f.targets],
                "environment": f.environment,
                "reversible": f.reversible,
                "verdict": f.verdict.value,
            }
            for f in flagged
        ],
        "reasons": [
            {"rule": r.rule, "message": mask(r.message), "verdict": r.verdict.value}
            for r in decision.reasons
            if r.verdict is not Verdict.ALLOW
        ],
        "decision": decision.verdict.value,
        "agent": action.actor.agent,
        "session": action.actor.session,
        "agent_reason": mask(reason)[:2000],
        "policy_revision": decision.policy_revision,
    }


def _reversible(flagged: list[Any]) -> bool | None:
    return True if all(f.reversible is True for f in flagged) else None


def _detail(action: Action) -> str:
    """The exact payload: the whole command, SQL statement, request body or plan."""
    payload = action.payload()
    if action.kind == "shell":
        text = str(payload["command"])
    elif action.kind == "sql":
        text = str(payload["sql"])
    elif action.kind == "http":
        headers = "\n".join(f"{k}: {v}" for k, v in payload["headers"].items())
        text = f"{payload['method']} {payload['url']}\n{headers}\n\n{payload['body']}".strip()
    else:
        text = json.dumps(mask_json(payload), indent=2, ensure_ascii=False, default=str)
    masked = mask(text)
    if len(masked) > _DETAIL_LIMIT:
        return masked[:_DETAIL_LIMIT] + f"\n… ({len(masked) - _DETAIL_LIMIT} more characters)"
    return masked
