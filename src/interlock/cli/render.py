"""Readable, coloured rendering of a :class:`~interlock.decisions.Decision`.

`interlock check` and `interlock policy explain` print the same shape, so a person reading one
recognises the other: the verdict first (what happens), then each reason with the rule that
produced it (why), then the findings with their targets, environment and reversibility (on
what). Commands, URLs and evidence go through :func:`interlock.secrets.mask` first: a
terminal scroll-back or a CI log must not leak the token the PocketOS agent found. Colour is a
hint only: every verdict is also spelled out, so a log or a colour-blind
reader loses nothing.
"""

from __future__ import annotations

import json
from typing import Any

import click

from interlock.actions import Action
from interlock.analyzers import show
from interlock.decisions import Decision, Finding, Reason, Verdict
from interlock.secrets import mask, mask_json

VERDICT_COLOURS: dict[Verdict, str] = {
    Verdict.ALLOW: "green",
    Verdict.ASK: "yellow",
    Verdict.DENY: "red",
}

# Exit status of `interlock check` per verdict; 1 is kept for errors (docs/cli.md).
EXIT_CODES: dict[Verdict, int] = {Verdict.ALLOW: 0, Verdict.DENY: 2, Verdict.ASK: 3}


def verdict_label(verdict: Verdict, *, color: bool) -> str:
    """``DENY`` / ``ASK`` / ``ALLOW``, bold and coloured when ``color``."""
    text = verdict.value.upper()
    return click.style(text, fg=VERDICT_COLOURS[verdict], bold=True) if color else text


def reversibility(reversible: bool | None) -> str:
    if reversible is True:
        return "reversible"
    if reversible is False:
        return "cannot be undone"
    return "reversibility unknown"


def describe_action(action: Action) -> str:
    """One line naming the action, for headers: ``shell: rm -rf ~``."""
    payload = action.payload()
    if action.kind == "shell":
        text = str(payload["command"])
    elif action.kind == "sql":
        text = f"{payload['dialect']}: {payload['sql']}"
    elif action.kind == "http":
        text = f"{payload['method']} {payload['url']}"
    elif action.kind == "terraform_plan":
        changes = payload["plan"].get("resource_changes") or []
        text = f"{len(changes) if isinstance(changes, list) else '?'} resource change(s)"
    else:
        text = json.dumps(payload, sort_keys=True, default=str)
    one_line = mask(" ".join(text.split()))
    if len(one_line) > 160:
        one_line = one_line[:157] + "..."
    return f"{action.kind}: {one_line}"


def render_reason(reason: Reason, *, color: bool) -> str:
    label = verdict_label(reason.verdict, color=color)
    width = _label_width(color, reason.verdict)
    return f"  {label:<{width}} [{reason.rule}] {mask(reason.message)}"


def _label_width(color: bool, verdict: Verdict) -> int:
    # Pad the visible text to 5 characters; styled text carries invisible escape codes.
    styled = verdict_label(verdict, color=color)
    return 5 + (len(styled) - len(verdict.value)) if color else 5


def render_finding(finding: Finding, *, color: bool, indent: str = "  ") -> list[str]:
    """The lines describing one finding: operation and summary, then where and how bad."""
    head = click.style(finding.operation, bold=True) if color else finding.operation
    lines = [f"{indent}{head}: {mask(finding.summary)}"]
    where = []
    if finding.targets:
        where.append("targets: " + ", ".join(mask(show(t)) for t in finding.targets))
    where.append(f"environment: {finding.environment or 'unspecified'}")
    where.append(reversibility(finding.reversible))
    lines.append(f"{indent}  " + "; ".join(where))
    detail = f"built-in verdict: {finding.verdict.value} (rule {finding.rule})"
    if finding.floor is not Verdict.ALLOW:
        detail += f"; floor: {finding.floor.value}"
    lines.append(f"{indent}  {detail}")
    if finding.evidence:
        lines.append(f"{indent}  evidence: {mask(show(finding.evidence))}")
    return lines


def render_decision(decision: Decision, action: Action | None = None, *, color: bool) -> str:
    """The whole decision as text, ending with a newline."""
    header = verdict_label(decision.verdict, color=color)
    lines = [f"{header}  {mask(decision.message())}", f"  rule: {decision.rule}"]
    if action is not None:
        lines.append(f"  action: {describe_action(action)}")
    if decision.reasons:
        lines.append("reasons:")
        lines.extend(render_reason(r, color=color) for r in decision.reasons)
    if decision.findings:
        lines.append("findings:")
        for finding in decision.findings:
            lines.extend(render_finding(finding, color=color))
    lines.append(f"action digest: {decision.action_digest}")
    lines.append(f"policy revision: {decision.policy_revision}")
    return "\n".join(lines) + "\n"


def decision_json(decision: Decision, extra: dict[str, Any] | None = None) -> str:
    """One compact JSON object (a JSON Lines row): the decision plus ``extra`` fields first."""
    data: dict[str, Any] = dict(extra or {})
    data.update(decision.to_json())
    return json.dumps(mask_json(data), ensure_ascii=False, sort_keys=False)
