"""The state one SQL input is judged with, and how a rule turns a match into a Finding.

Internal to ``interlock.analyzers.sql`` (the facade other modules call). Every rule module
takes a ``Ctx`` so that a finding made inside a DO body, a PREPARE or an EXPLAIN ANALYZE says
where it was found (``note``) and so that ``EXECUTE name`` can be matched against a PREPARE
earlier in the same input (``prepared``), instead of each rule re-deriving that context.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from interlock.analyzers import Scope
from interlock.decisions import Finding, Verdict


@dataclass
class Ctx:
    """State shared by the statements of one input: dialect, scope, prepared statement names."""

    dialect: str
    scope: Scope
    depth: int = 0
    plpgsql: bool = False
    note: str = ""
    prepared: set[str] = field(default_factory=set)
    routines: set[str] = field(default_factory=set)
    """Functions and procedures created earlier in the same input: their bodies were judged."""

    def find(
        self,
        operation: str,
        summary: str,
        rule: str,
        evidence: str,
        *,
        targets: tuple[str, ...] = (),
        reversible: bool | None = None,
        verdict: Verdict = Verdict.ASK,
        floor: Verdict = Verdict.ALLOW,
    ) -> Finding:
        return Finding(
            operation=operation,
            summary=summary + self.note,
            verdict=verdict,
            rule=rule,
            targets=targets,
            environment=self.scope.environment,
            reversible=reversible,
            evidence=evidence,
            floor=floor,
        )

    def inner(self, *, plpgsql: bool | None = None, note: str | None = None) -> Ctx:
        return Ctx(
            self.dialect,
            self.scope,
            self.depth + 1,
            self.plpgsql if plpgsql is None else plpgsql,
            self.note if note is None else note,
            self.prepared,
            self.routines,
        )

    def elsewhere(self, environment: str | None, note: str) -> Ctx:
        """The same input, run on another server (``dblink``) whose environment is given."""
        return Ctx(
            self.dialect,
            replace(self.scope, environment=environment),
            self.depth + 1,
            False,
            note,
            set(),
            set(),
        )


def too_deep(sql: str, ctx: Ctx) -> Finding:
    """SQL inside SQL (DO bodies, EXECUTE 'text', dblink) nested past the limit: ask."""
    return ctx.find(
        "db.unparsed",
        "runs SQL nested too deeply to follow",
        "sql.too_deep",
        short(sql),
        floor=Verdict.ASK,
    )


def short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    out = []
    for f in findings:
        key = (f.rule, f.operation, f.targets)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
