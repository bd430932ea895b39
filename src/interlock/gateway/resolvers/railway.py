"""Railway: which environment a volume, service, deployment, volume instance or project is in.

``volumeDelete(volumeId: "…")`` names no environment: a Volume is project-level and each
environment has its own VolumeInstance (../shared/notes/anchors.md §0). The PocketOS agent,
working in staging, deleted production's volume with a token nothing tied to staging. So before
the gateway forwards a Railway request it asks Railway where every object the request names
lives, with the upstream's own (broker) credential:

- ``volume(id) { volumeInstances { edges { node { environmentId } } } }``
- ``service(id) { serviceInstances { edges { node { environmentId } } } }``
- ``volumeInstance(id) { environmentId }``, ``deployment(id) { environmentId }``
- ``project(id) { environments { edges { node { id } } } }``
- ``environment(id) { name }`` for each environment id not in ``[inventory.<env>]
  railway_environments``.

A volume or service with instances in several environments is in all of them: deleting it
deletes every instance. Answers are cached for ``ttl`` seconds. What Railway does not know, or
does not answer, is :data:`~interlock.environments.UNKNOWN`, which is production.

:meth:`RailwayResolver.environment_of` is the :class:`interlock.environments.Resolver` the
decision point consults; it only reads the cache, so :func:`interlock.engine.decide` stays
pure. :meth:`RailwayResolver.refresh` does the look-ups first, without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import httpx

from interlock.analyzers import http_graphql
from interlock.environments import UNKNOWN, resolve

if TYPE_CHECKING:
    from graphql.language import ArgumentNode

    from interlock.config import Policy

__all__ = ["GRAPHQL_PATH", "MAX_TARGETS", "RailwayResolver", "Stats", "Target", "targets"]

GRAPHQL_PATH = "/graphql/v2"
MAX_TARGETS = 50
"""Objects one request may name; beyond this the rest stay unknown (production)."""
GRACE = 60.0
"""Seconds past the TTL an answer still serves the decision that a refresh just preceded."""
NEGATIVE_TTL = 30.0
"""Seconds an object Railway said it does not know stays unknown before it is asked again."""

_BY_ARGUMENT = {
    "volumeId": "volume",
    "volumeInstanceId": "volumeInstance",
    "serviceId": "service",
    "deploymentId": "deployment",
    "environmentId": "environment",
    "projectId": "project",
}
_BY_FIELD = (
    ("volumeInstance", "volumeInstance"),
    ("volume", "volume"),
    ("serviceInstance", ""),  # a service instance id is not looked up; its ids in args are
    ("service", "service"),
    ("deployment", "deployment"),
    ("environment", "environment"),
    ("project", "project"),
)
_SCOPED = {"service", "volume", "project"}
"""Objects that span environments: a field that also names an environment is about that one."""
_KINDS = frozenset({"resource", "railway_environment", "railway_project"})


@dataclass(frozen=True)
class Target:
    """One Railway object a request names: ``volume`` ``4f0c…``."""

    type: str
    ident: str


@dataclass
class Stats:
    hits: int = 0
    misses: int = 0
    lookups: int = 0
    """GraphQL requests sent to Railway."""
    failures: int = 0

    @property
    def hit_rate(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


@dataclass(frozen=True)
class _Entry:
    environments: frozenset[str]
    at: float
    ttl: float


def targets(body: str, query: str, content_type: str) -> list[Target]:
    """Every Railway object the GraphQL in a request names, queries and mutations alike.

    Reading production's variables with a staging token leaves the token's environment as
    surely as deleting production's volume. A field that names an environment is about that
    environment: ``variables(environmentId: staging, serviceId: s)`` reads staging's, and the
    service (which also has a production instance) is not a target of its own.
    """
    found: dict[Target, None] = {}
    for document, variables in http_graphql.extract(body, query, content_type).documents:
        for name, mutation, arguments in _fields(document):
            values: dict[str, str] = {}
            for argument in arguments:
                http_graphql.argument_value(
                    argument.name.value, argument.value, variables, values, 0
                )
            for target in _field_targets(name, values, mutation):
                found[target] = None
    return list(found)


_Field = tuple[str, bool, tuple["ArgumentNode", ...]]
CACHED_DOCUMENT = 8192
"""Documents up to this long are parsed once (tools send the same query with new variables)."""


def _fields(document: str) -> tuple[_Field, ...]:
    if len(document) <= CACHED_DOCUMENT:
        return _parsed_fields(document)
    return _parse_fields(document)


@functools.lru_cache(maxsize=512)
def _parsed_fields(document: str) -> tuple[_Field, ...]:
    return _parse_fields(document)


def _parse_fields(document: str) -> tuple[_Field, ...]:
    """Every field of every operation, with its argument nodes (variables unresolved)."""
    from graphql import GraphQLError, parse
    from graphql.language import (
        FieldNode,
        FragmentDefinitionNode,
        FragmentSpreadNode,
        InlineFragmentNode,
        OperationDefinitionNode,
        OperationType,
        SelectionNode,
    )

    try:
        parsed = parse(document, no_location=True, max_tokens=http_graphql.MAX_TOKENS)
    except (GraphQLError, RecursionError):
        return ()  # the analyzer reports the document as unreadable: ask, never allow
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    out: list[_Field] = []
    for definition in parsed.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        mutation = definition.operation is OperationType.MUTATION
        stack: list[tuple[SelectionNode, frozenset[str]]] = [
            (s, frozenset()) for s in definition.selection_set.selections
        ]
        budget = http_graphql.MAX_TOKENS
        while stack and budget > 0:
            budget -= 1
            node, spread = stack.pop()
            if isinstance(node, FieldNode):
                out.append((node.name.value, mutation, tuple(node.arguments or ())))
                if node.selection_set is not None:
                    stack.extend((s, spread) for s in node.selection_set.selections)
            elif isinstance(node, InlineFragmentNode):
                stack.extend((s, spread) for s in node.selection_set.selections)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in spread:
                    inner = spread | {name}
                    stack.extend((s, inner) for s in fragment.selection_set.selections)
    return tuple(out)


def _field_targets(field: str, values: Mapping[str, str], mutation: bool) -> list[Target]:
    named: list[Target] = []
    for key, value in values.items():
        last = key.rsplit(".", 1)[-1]
        kind = _BY_ARGUMENT.get(last)
        if kind is None and last == "id":
            kind = next((k for prefix, k in _BY_FIELD if field.startswith(prefix)), None)
        if kind and value and value != "null":
            named.append(Target(kind, value))
    if any(t.type == "environment" for t in named):
        named = [t for t in named if t.type not in _SCOPED]
    if not mutation:
        # Reading a project (its name, its environments' names) is how every tool starts.
        named = [t for t in named if t.type != "project"]
    return named


_QUERIES = {
    "volume": "volume(id: ${v}) {{ volumeInstances {{ edges {{ node {{ environmentId }} }} }} }}",
    "service": "service(id: ${v}) {{ serviceInstances {{ edges {{ node {{ environmentId }} }} }} }}",
    "volumeInstance": "volumeInstance(id: ${v}) {{ environmentId }}",
    "deployment": "deployment(id: ${v}) {{ environmentId }}",
    "project": "project(id: ${v}) {{ environments {{ edges {{ node {{ id }} }} }} }}",
    "environment": "environment(id: ${v}) {{ name }}",
}


class RailwayResolver:
    """Railway objects' environments: looked up by :meth:`refresh`, read by :meth:`environment_of`."""

    def __init__(
        self,
        policy: Policy,
        *,
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # The static inventory without resolvers: an environment id listed there needs no call.
        self.inventory = replace(policy, resolvers=())
        self.ttl = ttl
        self.clock = clock
        self.stats = Stats()
        self._entries: dict[str, _Entry] = {}
        self._inflight: dict[str, asyncio.Future[None]] = {}

    # --- the Resolver protocol (no I/O) ---------------------------------------------------

    def environment_of(self, kind: str, ident: str) -> str | None:
        """The environment of a Railway id from the cache; production when it is in several."""
        if kind not in _KINDS:
            return None
        found = self.environments(ident)
        if found is None:
            return None
        if len(found) == 1:
            return next(iter(found))
        production = sorted(e for e in found if self.inventory.is_production(e) or e == UNKNOWN)
        return production[0] if production else UNKNOWN

    def environments(self, ident: str) -> frozenset[str] | None:
        """Every environment ``ident`` is in, as last looked up; None if never (or long ago)."""
        entry = self._entries.get(ident)
        if entry is None or self.clock() - entry.at > entry.ttl + GRACE:
            return None
        return entry.environments

    def _fresh(self, ident: str) -> bool:
        entry = self._entries.get(ident)
        return entry is not None and self.clock() - entry.at <= entry.ttl

    # --- look-ups ----------------------------------------------------------------------------

    async def refresh(
        self,
        client: httpx.AsyncClient,
        endpoint: str,
        headers: Mapping[str, str],
        wanted: Iterable[Target],
    ) -> None:
        """Look up every target not answered within the TTL, in one GraphQL request.

        Concurrent refreshes of the same id share one look-up. Failures leave the targets
        unknown (production); they are counted, never raised: the request is then judged on
        what is known, which denies anything outside the token's environment.
        """
        chosen = list(dict.fromkeys(wanted))[:MAX_TARGETS]
        missing: list[Target] = []
        waiting: list[asyncio.Future[None]] = []
        for target in chosen:
            if self._fresh(target.ident):
                self.stats.hits += 1
            elif target.ident in self._inflight:
                self.stats.hits += 1
                waiting.append(self._inflight[target.ident])
            else:
                self.stats.misses += 1
                missing.append(target)
        if missing:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            for target in missing:
                self._inflight[target.ident] = done
            try:
                await self._look_up(client, endpoint, headers, missing)
            finally:
                for target in missing:
                    self._inflight.pop(target.ident, None)
                done.set_result(None)
        if waiting:
            await asyncio.gather(*waiting)

    async def _look_up(
        self,
        client: httpx.AsyncClient,
        endpoint: str,
        headers: Mapping[str, str],
        missing: list[Target],
    ) -> None:
        answers = await self._query(client, endpoint, headers, missing)
        if answers is None:
            return
        environment_ids = {e for ids in answers.values() if ids for e in ids}
        environment_ids |= {t.ident for t in missing if t.type == "environment"}
        names = await self._names(client, endpoint, headers, environment_ids)
        if names is None:
            return
        now = self.clock()
        for target in missing:
            if target.type == "environment":
                ids: frozenset[str] | None = frozenset({target.ident})
            else:
                ids = answers.get(target.ident)
            if not ids:
                self._entries[target.ident] = _Entry(frozenset({UNKNOWN}), now, NEGATIVE_TTL)
                continue
            placed = frozenset(names.get(e, UNKNOWN) for e in ids)
            self._entries[target.ident] = _Entry(placed, now, self.ttl)

    async def _query(
        self,
        client: httpx.AsyncClient,
        endpoint: str,
        headers: Mapping[str, str],
        missing: list[Target],
    ) -> dict[str, frozenset[str] | None] | None:
        """Environment ids of every non-environment target (None: Railway does not know it)."""
        asked = [t for t in missing if t.type != "environment"]
        if not asked:
            return {}
        data = await self._post(client, endpoint, headers, asked)
        if data is None:
            return None
        out: dict[str, frozenset[str] | None] = {}
        for index, target in enumerate(asked):
            out[target.ident] = _environment_ids(target.type, data.get(f"t{index}"))
        return out

    async def _names(
        self,
        client: httpx.AsyncClient,
        endpoint: str,
        headers: Mapping[str, str],
        environment_ids: set[str],
    ) -> dict[str, str] | None:
        """Interlock's name for each Railway environment id: the inventory's, else Railway's."""
        names: dict[str, str] = {}
        unnamed: list[Target] = []
        for env_id in sorted(environment_ids):
            listed = resolve(self.inventory, "railway_environment", env_id)
            cached = self._entries.get("env:" + env_id)
            if listed:
                names[env_id] = listed
            elif cached is not None and self.clock() - cached.at <= cached.ttl:
                names[env_id] = next(iter(cached.environments))
            else:
                unnamed.append(Target("environment", env_id))
        if not unnamed:
            return names
        data = await self._post(client, endpoint, headers, unnamed)
        if data is None:
            return None
        now = self.clock()
        for index, target in enumerate(unnamed):
            found = data.get(f"t{index}")
            name = found.get("name") if isinstance(found, dict) else None
            if isinstance(name, str) and name:
                names[target.ident] = name.lower()
                self._entries["env:" + target.ident] = _Entry(
                    frozenset({name.lower()}), now, self.ttl
                )
        return names

    async def _post(
        self,
        client: httpx.AsyncClient,
        endpoint: str,
        headers: Mapping[str, str],
        asked: list[Target],
    ) -> dict[str, Any] | None:
        """One aliased GraphQL query; its ``data`` (fields Railway refused are null)."""
        declared = ", ".join(f"$v{i}: String!" for i in range(len(asked)))
        fields = " ".join(
            f"t{i}: " + _QUERIES[t.type].format(v=f"v{i}") for i, t in enumerate(asked)
        )
        body = {
            "query": f"query InterlockEnvironments({declared}) {{ {fields} }}",
            "variables": {f"v{i}": t.ident for i, t in enumerate(asked)},
        }
        self.stats.lookups += 1
        try:
            response = await client.post(endpoint, json=body, headers=dict(headers))
            payload = response.json()
        except (httpx.HTTPError, ValueError):
            self.stats.failures += 1
            return None
        data = payload.get("data") if isinstance(payload, dict) else None
        if response.status_code != 200 or not isinstance(data, dict):
            self.stats.failures += 1
            return None
        return data


def _environment_ids(kind: str, found: Any) -> frozenset[str] | None:
    if not isinstance(found, dict):
        return None
    if kind in ("volumeInstance", "deployment"):
        value = found.get("environmentId")
        return frozenset({value}) if isinstance(value, str) and value else None
    connection = {
        "volume": "volumeInstances",
        "service": "serviceInstances",
        "project": "environments",
    }[kind]
    key = "id" if kind == "project" else "environmentId"
    edges = (found.get(connection) or {}).get("edges") or []
    ids = {
        edge["node"][key]
        for edge in edges
        if isinstance(edge, dict)
        and isinstance(edge.get("node"), dict)
        and isinstance(edge["node"].get(key), str)
    }
    return frozenset(ids) or None
