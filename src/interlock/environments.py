"""Which environment a target is in: the static inventory, resolvers, and "unknown".

The PocketOS volume was production's, but nothing in ``volumeDelete(volumeId: …)`` said so
(../shared/notes/anchors.md §0). So every finding about a remote target carries the
environment of *that target*, looked up here, not the environment the agent says it works in:

1. the **inventory** of ``interlock.toml`` (``[inventory.<env>]``: hosts, database URLs and
   names, cloud accounts and profiles, Kubernetes contexts and namespaces, Railway project and
   environment ids, resource ids and patterns);
2. the older ``[environments.hosts]`` patterns, which match any kind of name;
3. **resolvers** (:class:`Resolver`): a seam through which the gateway asks a provider, e.g.
   Railway's ``volume(id) { volumeInstances { environmentId } }``; here they run on static data;
4. a name that says production as a whole word (``db.prod.example.com``, ``shop-production``);
5. otherwise :data:`UNKNOWN`, which the engine treats as production for anything that cannot
   be undone: a target whose environment nobody can establish is not assumed to be harmless.

Local targets (files in the project, a database on localhost, a loopback URL) are not looked up:
they are in the environment of the action (``--env``), else ``environments.default``.
Standard library only: the hook imports this.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from interlock.analyzers import Scope
    from interlock.config import Policy

__all__ = [
    "KINDS",
    "UNKNOWN",
    "Inventory",
    "Resolver",
    "is_loopback",
    "resolve",
    "target_environment",
]

UNKNOWN = "unknown"
"""The environment of a remote target nobody could place; destructive work there is denied."""

KINDS = (
    "host",
    "database",
    "aws_account",
    "aws_profile",
    "gcp_project",
    "kube_context",
    "kube_namespace",
    "railway_project",
    "railway_environment",
    "resource",
)
"""What an identifier is; each has a list of the same name (plural) in ``[inventory.<env>]``."""


class Resolver(Protocol):
    """Looks an identifier up where it lives (a provider's API, a cache). None: not known here."""

    def environment_of(self, kind: str, ident: str) -> str | None: ...


Inventory = Mapping[str, Mapping[str, tuple[str, ...]]]
"""environment -> kind -> fnmatch patterns (case-insensitive)."""


def _match(ident: str, patterns: Iterable[str]) -> bool:
    lowered = ident.lower()
    return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in patterns)


def resolve(policy: Policy, kind: str, ident: str) -> str | None:
    """The environment ``ident`` (a ``kind``, or ``"any"``) belongs to, or None if nothing places it.

    When several environments claim it, a production one wins: the strict reading.
    """
    if not ident:
        return None
    if kind not in KINDS and kind != "any":
        raise ValueError(f"unknown kind of identifier: {kind!r}")
    found: list[str] = []
    for env, kinds in policy.inventory.items():
        lists = kinds.values() if kind == "any" else (kinds.get(kind, ()),)
        if any(_match(ident, patterns) for patterns in lists):
            found.append(env)
    for env, patterns in policy.hosts.items():
        if _match(ident, patterns):
            found.append(env)
    for resolver in policy.resolvers if kind != "any" else ():
        placed = resolver.environment_of(kind, ident)
        if placed:
            found.append(placed)
    if found:
        return next((e for e in found if policy.is_production(e)), found[0])
    if kind == "database":
        # postgres://user@db.prod.internal:5432/shop -> the host and the database name decide.
        host, name = _database_parts(ident)
        for part, part_kind in ((host, "host"), (name, "database")):
            if part and part != ident:
                placed = resolve(policy, part_kind, part)
                if placed:
                    return placed
    words = _words(ident.lower()) if policy.production else []
    for env in policy.production:
        if env in words:
            return "production"
    return None


def target_environment(scope: Scope, kind: str, ident: str | None) -> str:
    """The environment of a *remote* target: resolved, else :data:`UNKNOWN`.

    The action's own environment is not used for a remote target it did not name: an agent
    working in staging holds no evidence about the volume its token can reach.
    """
    if ident is None:
        return UNKNOWN
    return resolve(scope.policy, kind, ident) or UNKNOWN


_IPV4_CHARS = "0123456789."


def is_loopback(host: str | None) -> bool:
    """A server on this machine (a developer's own): its environment is the action's."""
    if not host:
        return False
    host = host.lower().strip("[]").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    if ":" not in host and host.strip(_IPV4_CHARS):
        # Only digits and dots spell an IPv4 address, and every IPv6 one has a colon: a name
        # is not parsed as an address (the ValueError path cost ~10 µs a request, issue 4).
        return False
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: 127.example.com is somebody else's
    return address.is_loopback or address.is_unspecified


def _database_parts(ident: str) -> tuple[str | None, str | None]:
    """(host, database name) of a connection URL or ``host/name``; (None, None) if neither."""
    from urllib.parse import urlsplit

    if "://" not in ident:
        return None, None
    try:
        parts = urlsplit(ident)
        host = parts.hostname
    except ValueError:
        return None, None
    name = parts.path.lstrip("/") or None
    return host, name


def _words(name: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for ch in name:
        if ch.isalnum():
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out
