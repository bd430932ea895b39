"""Verdicts, findings and decisions: what the decision point answers.

A *finding* is one thing an analyzer understood an action to do ("recursively deletes
/home/alice"). The policy turns findings into *reasons* and a *decision*. Everything is frozen
and serialisable to JSON, so hooks, the CLI and the audit log share one shape.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from interlock.frozen import quick_init


class Verdict(enum.Enum):
    """Ordered: ``deny`` > ``ask`` > ``allow``. Combining verdicts takes the strictest."""

    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"

    rank: int
    """0, 1, 2 for allow, ask, deny: set on each member once (a property looked the member up
    in a dict through the enum's Python-level ``__hash__`` on every comparison)."""

    def __init__(self, value: str) -> None:
        self.rank = ("allow", "ask", "deny").index(value)

    def __str__(self) -> str:
        return str(self.value)

    @staticmethod
    def strictest(*verdicts: Verdict) -> Verdict:
        strictest = _ALLOW
        for verdict in verdicts:
            if verdict.rank > strictest.rank:
                strictest = verdict
        return strictest

    @staticmethod
    def parse(text: str) -> Verdict:
        try:
            return Verdict(text.strip().lower())
        except ValueError:
            from interlock.errors import ConfigError

            raise ConfigError(f"unknown decision {text!r}: use allow, ask or deny") from None


_ALLOW = Verdict.ALLOW


@quick_init
@dataclass(frozen=True)
class Finding:
    """One effect an analyzer found in an action."""

    operation: str
    """Dotted name from the catalogs: ``fs.delete_recursive``, ``db.drop_table``, ``shell.unparsed``."""
    summary: str
    """One sentence a person understands: "recursively deletes the home directory"."""
    verdict: Verdict
    """What the analyzer and catalogs suggest before the user's policy is applied."""
    rule: str
    """Id of the catalog entry or analyzer check that produced it."""
    targets: tuple[str, ...] = ()
    environment: str | None = None
    reversible: bool | None = None
    """False when nothing brings it back, None when unknown."""
    evidence: str = ""
    """The piece of the action it was found in (one simple command, one statement)."""
    floor: Verdict = Verdict.ALLOW
    """A user rule cannot lower the verdict below this (what was not understood stays ask)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "summary": self.summary,
            "verdict": self.verdict.value,
            "rule": self.rule,
            "targets": list(self.targets),
            "environment": self.environment,
            "reversible": self.reversible,
            "evidence": self.evidence,
        }


@quick_init
@dataclass(frozen=True)
class Reason:
    rule: str
    message: str
    verdict: Verdict

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, "verdict": self.verdict.value}

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


@quick_init
@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reasons: tuple[Reason, ...]
    findings: tuple[Finding, ...]
    action_digest: str
    policy_revision: str
    decision_id: str = field(default="")

    @property
    def rule(self) -> str:
        """The rule that decided: the first reason with the final verdict."""
        for reason in self.reasons:
            if reason.verdict is self.verdict:
                return reason.rule
        return "default.allow"

    def message(self) -> str:
        """All reasons of the final verdict, one sentence each, for an agent or a person."""
        texts = [r.message for r in self.reasons if r.verdict is self.verdict]
        return "; ".join(texts) if texts else "nothing destructive found"

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.verdict.value,
            "rule": self.rule,
            "reasons": [r.to_json() for r in self.reasons],
            "findings": [f.to_json() for f in self.findings],
            "action_digest": self.action_digest,
            "policy_revision": self.policy_revision,
        }
