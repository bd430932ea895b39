"""The decision point: ``decide(action, policy) -> Decision``. Pure: no I/O, no clock.

Steps, in order:

1. The analyzer for the action's kind lists findings (each with a suggested verdict).
2. Each finding gets the action's environment when it names none.
3. A destructive finding in a production environment that cannot be undone is denied
   ("protect production" default). A remote target whose environment nobody could establish
   (``unknown``, see :mod:`interlock.environments`) counts as production.
4. The user's rules that match a finding replace its verdict; among them deny wins. A rule
   cannot lower a finding below its floor (what was not understood stays at least ask), and
   only a rule that names an environment can lower production's protection.
5. The decision is the strictest verdict over all findings; no findings means allow.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

from interlock.actions import (
    Action,
    HttpAction,
    ShellAction,
    SqlAction,
    TerraformPlanAction,
    ToolCallAction,
)
from interlock.analyzers import Scope
from interlock.config import Policy
from interlock.decisions import Decision, Finding, Reason, Verdict
from interlock.environments import UNKNOWN


def analyze(action: Action, policy: Policy) -> list[Finding]:
    """Findings for one action, from the analyzer of its kind."""
    environment = action.env or None
    scope = Scope(policy, action.cwd or policy.project_root, environment)
    if isinstance(action, ShellAction):
        return _analyzer("shell")(action.command, scope)
    if isinstance(action, SqlAction):
        return _analyzer("sql")(action.sql, action.dialect, scope)
    if isinstance(action, HttpAction):
        http = _analyzer("http")
        return http(action.method, action.url, dict(action.headers), action.body, scope)
    if isinstance(action, TerraformPlanAction):
        return _analyzer("terraform")(action.plan, scope)
    if isinstance(action, ToolCallAction):
        return _analyzer("tools")(action, scope)
    raise TypeError(f"not an action: {type(action).__name__}")  # pragma: no cover


@functools.cache
def _analyzer(kind: str) -> Callable[..., list[Finding]]:
    """``interlock.analyzers.<kind>.analyze``, imported on first use: a shell hook need not
    load pglast or graphql-core. Kept once found: an import statement in :func:`analyze` cost
    about 8,000 instructions on every decision (issue #2 item 9)."""
    analyze: Callable[..., list[Finding]] = importlib.import_module(
        f"interlock.analyzers.{kind}"
    ).analyze
    return analyze


_ALLOW, _DENY = Verdict.ALLOW, Verdict.DENY  # an enum member read through the class is slow


def judge(finding: Finding, action: Action, policy: Policy) -> Reason:
    """The verdict and reason for one finding under the policy (steps 2 to 4)."""
    environment = finding.environment or action.env or policy.default_environment
    verdict, rule, message = finding.verdict, finding.rule, finding.summary
    unknown = environment == UNKNOWN
    if (
        (policy.is_production(environment) or unknown)
        and verdict is not _ALLOW
        and finding.reversible is not True
    ):
        verdict = _DENY
        rule = "default.protect-production"
        where = (
            "in an environment Interlock cannot establish (treated as production)"
            if unknown
            else f"in {environment}"
        )
        message = f"{finding.summary}, {where}, and it cannot be undone"
    floor = finding.floor
    if rule == "default.protect-production":
        floor = _DENY
    if not policy.rules:
        return Reason(rule=rule, message=message, verdict=verdict)
    matching = [
        r for r in policy.rules if r.matches(finding.operation, finding.targets, environment)
    ]
    if matching:
        chosen = max(matching, key=lambda r: r.decision.rank)
        if chosen.environment is not None:
            # Only a rule that names the environment may relax production's protection: an
            # unscoped "allow fs.delete*" written for development must not reach production.
            floor = finding.floor
        verdict = Verdict.strictest(chosen.decision, floor)
        rule = chosen.id
        message = f"{finding.summary} ({chosen.reason})" if chosen.reason else finding.summary
    return Reason(rule=rule, message=message, verdict=verdict)


def decide(action: Action, policy: Policy) -> Decision:
    findings = tuple(analyze(action, policy))
    if not findings:
        return Decision(_ALLOW, (), (), action.digest(), policy.revision)
    reasons = [judge(f, action, policy) for f in findings]
    verdict = Verdict.strictest(*[r.verdict for r in reasons])
    # The strictest reasons first, so a reader sees why before the rest.
    ordered = tuple(sorted(reasons, key=_strictest_first))
    return Decision(verdict, ordered, findings, action.digest(), policy.revision)


def _strictest_first(reason: Reason) -> int:
    return -reason.verdict.rank
