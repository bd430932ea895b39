"""What the gateway decides about one request, before anything is forwarded. No I/O here.

The decision point (:func:`interlock.engine.decide`) reads the request as an
:class:`~interlock.actions.HttpAction` against the URL as the provider's API sees it, so the
catalogs apply (Railway's ``volumeDelete``, GitHub's ``DELETE /repos/…``). Around it the gateway
adds what only it knows, the token:

1. every target's environment, from the findings and (Railway) from the objects the request
   names, must be the token's environment; a target nobody could place is production
   (``unknown``), so a staging token never reaches it;
2. every operation must be one the token allows (``interlock token issue --operation``).

The action carries the exact method, URL, forwarded headers (less the ones that change on every
send) and body, so an approval is bound to those bytes: another body is another request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from interlock.actions import Actor, HttpAction
from interlock.broker.tokens import TokenInfo
from interlock.config import Policy
from interlock.decisions import Decision, Verdict
from interlock.environments import UNKNOWN

__all__ = [
    "READS",
    "Placed",
    "action_for",
    "operations",
    "outside",
    "placed_findings",
    "refused_operations",
    "same_environment",
]

READS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Placed:
    """A target and the environments it was found in."""

    kind: str
    ident: str
    environments: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "id": self.ident, "environments": list(self.environments)}


def action_for(
    token: TokenInfo, method: str, url: str, headers: Mapping[str, str], body: str
) -> HttpAction:
    """The action an approval is bound to; its environment is the token's."""
    return HttpAction(
        method=method,
        url=url,
        headers=dict(headers),
        body=body,
        env=token.environment,
        actor=Actor(agent=token.agent, session=token.session),
    )


def same_environment(policy: Policy, target: str, token: str) -> bool:
    """``target`` is the token's environment: the same name, or both production. A target
    nobody could place counts as production (docs/gateway.md)."""
    if target.lower() == token.lower():
        return True
    target_is_production = target == UNKNOWN or policy.is_production(target)
    return target_is_production and policy.is_production(token)


def placed_findings(decision: Decision) -> list[Placed]:
    """The targets of every finding that is not a plain allow, with the environment found."""
    out: list[Placed] = []
    for finding in decision.findings:
        if finding.verdict is Verdict.ALLOW or finding.environment is None:
            continue
        idents = finding.targets or (finding.operation,)
        out.extend(Placed(finding.operation, t, (finding.environment,)) for t in idents)
    return out


def outside(policy: Policy, token: TokenInfo, placed: Iterable[Placed]) -> list[Placed]:
    """The targets with an environment that is not the token's."""
    return [
        p
        for p in placed
        if not all(same_environment(policy, e, token.environment) for e in p.environments)
    ]


def operations(method: str, decision: Decision) -> list[str]:
    """What a request does, as the token's ``operations`` patterns see it: the operation of
    every finding that is not a plain allow, else ``http.read`` or ``http.write``."""
    found = [f.operation for f in decision.findings if f.verdict is not Verdict.ALLOW]
    if found:
        return list(dict.fromkeys(found))
    return ["http.read" if method.upper() in READS else "http.write"]


def refused_operations(token: TokenInfo, wanted: Iterable[str]) -> list[str]:
    return [op for op in wanted if not token.allows_operation(op)]
