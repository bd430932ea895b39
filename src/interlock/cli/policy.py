"""`interlock policy explain` and `interlock policy show`: why a decision came out as it did.

OPA and Cedar answer "which rule decided?" with the decision itself; so does this. For each
finding, ``explain`` walks the engine's steps in order (docs/policy.md): the built-in verdict
from the analyzer and catalogs, the production escalation, every user rule that matched and the
one that won (deny wins), the floor a rule cannot go below, and the reason the engine itself
returned (``interlock.engine.judge``), so the explanation can never drift from the decision.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from interlock.actions import Action
from interlock.cli import render
from interlock.cli.check import Command, action_options, build_action, decide_or_raise
from interlock.config import Policy, Rule, load_policy
from interlock.decisions import Decision, Finding, Verdict
from interlock.secrets import mask, mask_json


class Group(click.Group):
    """Usage errors exit 1 here too, for the same reason as in `interlock check`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            from interlock.cli.check import CheckUsageError

            raise CheckUsageError(exc.message, exc.ctx) from None


@click.group("policy", cls=Group)
def policy() -> None:
    """Show the policy in force and explain which rule decides an action."""


def source_line(pol: Policy) -> str:
    where = pol.source if pol.source else "embedded defaults (no interlock.toml found)"
    return f"policy: {where}\nrevision: {pol.revision}\nproject root: {pol.project_root}"


def explain_finding(finding: Finding, action: Action, pol: Policy) -> dict[str, Any]:
    """The engine's steps for one finding, as data (``--json``) and for the text view."""
    from interlock.engine import judge

    environment = finding.environment or action.env or pol.default_environment
    escalated = (
        pol.is_production(environment)
        and finding.verdict is not Verdict.ALLOW
        and finding.reversible is not True
    )
    matched = [r for r in pol.rules if r.matches(finding.operation, finding.targets, environment)]
    winner: Rule | None = max(matched, key=lambda r: r.decision.rank) if matched else None
    reason = judge(finding, action, pol)
    return {
        "finding": finding.to_json(),
        "environment": environment,
        "built_in": {"verdict": finding.verdict.value, "rule": finding.rule},
        "floor": finding.floor.value,
        "production_escalation": escalated,
        "production": pol.is_production(environment),
        "matched_rules": [_rule_json(r) for r in matched],
        "winning_rule": winner.id if winner else None,
        "floor_applied": bool(winner and winner.decision.rank < finding.floor.rank),
        "decided_by": reason.rule,
        "verdict": reason.verdict.value,
        "message": reason.message,
    }


def _rule_json(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "decision": rule.decision.value,
        "operation": rule.operation,
        "path": rule.path,
        "environment": rule.environment,
        "reason": rule.reason,
    }


def _explain_text(steps: list[dict[str, Any]], decision: Decision, color: bool) -> list[str]:
    lines: list[str] = []
    for number, step in enumerate(steps, 1):
        finding = step["finding"]
        lines.append(f"finding {number}: {finding['operation']}: {mask(finding['summary'])}")
        lines.append(
            f"  built-in verdict: {step['built_in']['verdict']} ({step['built_in']['rule']})"
        )
        env = step["environment"]
        if step["production_escalation"]:
            lines.append(f"  production escalation: applied ({env} is production) -> deny")
        elif step["production"]:
            lines.append(f"  production escalation: not applied ({env}; allowed or reversible)")
        else:
            lines.append(f"  production escalation: not applied ({env} is not production)")
        if not step["matched_rules"]:
            lines.append("  user rules: none matched")
        for rule in step["matched_rules"]:
            mark = "  <- wins" if rule["id"] == step["winning_rule"] else ""
            lines.append(f"  user rule {rule['id']}: {rule['decision']}{mark}")
        if step["floor_applied"]:
            lines.append(f"  floor: raised to {step['floor']} (what is not understood stays ask)")
        verdict = render.verdict_label(Verdict(step["verdict"]), color=color)
        lines.append(f"  decided by: {step['decided_by']} -> {verdict}")
    if not steps:
        lines.append("no findings: nothing destructive was recognised")
    final = render.verdict_label(decision.verdict, color=color)
    lines.append(f"decision: {final} (rule {decision.rule})")
    return lines


@policy.command("explain", cls=Command)
@action_options
@click.option("--color/--no-color", default=None, help="Force colour on or off (default: tty).")
def explain(
    command: tuple[str, ...],
    sql: str | None,
    dialect: str,
    http: tuple[str, str] | None,
    headers: tuple[str, ...],
    body: str,
    plan: str | None,
    env: str | None,
    cwd: str | None,
    as_json: bool,
    color: bool | None,
) -> None:
    """Show which interlock.toml is in force and which rule decides an action.

    Takes the same action options as `interlock check`. Always exits 0 once explained.
    """
    workdir = os.path.abspath(cwd or os.getcwd())
    pol = load_policy(workdir)
    action = build_action(
        command=command,
        sql=sql,
        dialect=dialect,
        http=http,
        headers=headers,
        body=body,
        plan=plan,
        env=env,
        cwd=workdir,
    )
    decision = decide_or_raise(action, pol)
    steps = [explain_finding(f, action, pol) for f in decision.findings]
    if as_json:
        data = {"policy": _policy_json(pol), "steps": steps, **decision.to_json()}
        click.echo(json.dumps(mask_json(data), ensure_ascii=False, indent=2))
        return
    lines = [source_line(pol), f"action: {render.describe_action(action)}"]
    lines.append(f"environment: {env or pol.default_environment + ' (default)'}")
    lines.extend(_explain_text(steps, decision, color=True))
    click.echo("\n".join(lines), color=color)


def _policy_json(pol: Policy) -> dict[str, Any]:
    return {
        "source": pol.source,
        "revision": pol.revision,
        "project_root": pol.project_root,
        "home": pol.home,
        "default_environment": pol.default_environment,
        "production": list(pol.production),
        "hosts": {env: list(patterns) for env, patterns in pol.hosts.items()},
        "rules": [_rule_json(r) for r in pol.rules],
    }


BUILT_INS = (
    "deny wins: among all findings and all matching rules the strictest verdict decides",
    "protect production: a non-allow finding in a production environment that cannot be "
    "undone is denied",
    "floors: what the analyzers could not understand stays at least ask, whatever a rule says",
    "no findings: allow",
)


@policy.command("show", cls=Command)
@click.option("--cwd", type=click.Path(file_okay=False), help="Where to look for interlock.toml.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show(cwd: str | None, as_json: bool) -> None:
    """Print the effective policy: its source, environments, rules and built-in defaults."""
    pol = load_policy(os.path.abspath(cwd or os.getcwd()))
    data = _policy_json(pol)
    if as_json:
        click.echo(json.dumps({**data, "built_in": list(BUILT_INS)}, indent=2))
        return
    lines = [source_line(pol), f"home: {pol.home}"]
    lines.append(f"default environment: {pol.default_environment}")
    lines.append(f"production names: {', '.join(pol.production)}")
    if pol.hosts:
        lines.append("hosts:")
        lines.extend(f"  {env}: {', '.join(p)}" for env, p in pol.hosts.items())
    lines.append("rules:" if pol.rules else "rules: none (built-in verdicts apply)")
    for r in pol.rules:
        scope = f"operation={r.operation}"
        scope += f" path={r.path}" if r.path else ""
        scope += f" environment={r.environment}" if r.environment else ""
        why = f"  ({r.reason})" if r.reason else ""
        lines.append(f"  {r.id}: {r.decision.value} when {scope}{why}")
    lines.append("built-in:")
    lines.extend(f"  - {b}" for b in BUILT_INS)
    click.echo("\n".join(lines))
