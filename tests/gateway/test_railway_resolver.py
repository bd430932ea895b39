"""The Railway resolver: which objects a request names, and where Railway says they are.

Look-ups go to the fake Railway GraphQL API (tests/gateway/fakes.py) over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from interlock.config import Policy
from interlock.environments import UNKNOWN
from interlock.gateway.resolvers.railway import RailwayResolver, Target, targets
from tests.gateway.fakes import RailwayWorld, Running, railway_app


def _named(query: str, variables: dict[str, Any] | None = None) -> list[Target]:
    body = json.dumps({"query": query, "variables": variables or {}})
    return targets(body, "", "application/json")


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        (
            "mutation D($id: String!) { volumeDelete(volumeId: $id) }",
            {"id": "vol-1"},
            [Target("volume", "vol-1")],
        ),
        ('mutation { keep: volumeDelete(volumeId: "vol-2") }', None, [Target("volume", "vol-2")]),
        ('mutation { serviceDelete(id: "svc-1") }', None, [Target("service", "svc-1")]),
        ('mutation { projectDelete(id: "prj-1") }', None, [Target("project", "prj-1")]),
        ('query { project(id: "prj-1") { name } }', None, []),
        (
            'query { variables(projectId: "p", environmentId: "env-1", serviceId: "svc-1") }',
            None,
            [Target("environment", "env-1")],
        ),
        (
            'mutation U($e: String!) { variableUpsert(input: {projectId: "p", '
            'environmentId: $e, serviceId: "s", name: "A", value: "b"}) }',
            {"e": "env-9"},
            [Target("environment", "env-9")],
        ),
        (
            'query Q { ...F } fragment F on Query { d: deployment(id: "dep-1") { id } }',
            None,
            [Target("deployment", "dep-1")],
        ),
        (
            'query { volumeInstance(id: "vi-1") { environmentId } }',
            None,
            [Target("volumeInstance", "vi-1")],
        ),
        ("mutation { volumeDelete(volumeId: ", None, []),  # unreadable: the analyzer asks
    ],
)
def test_the_objects_a_request_names(
    query: str, variables: dict[str, Any] | None, expected: list[Target]
) -> None:
    assert _named(query, variables) == expected


def test_a_batch_names_the_objects_of_every_document() -> None:
    body = json.dumps(
        [
            {"query": 'query { deployment(id: "dep-1") { id } }'},
            {"query": 'mutation { volumeDelete(volumeId: "vol-9") }'},
        ]
    )
    assert targets(body, "", "application/json") == [
        Target("deployment", "dep-1"),
        Target("volume", "vol-9"),
    ]


# --- look-ups -------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> Iterator[tuple[RailwayWorld, str]]:
    found = RailwayWorld(credential="rw_resolver_test_credential")
    running = Running(railway_app(found))
    try:
        yield found, running.url + "/graphql/v2"
    finally:
        running.stop()


def _refresh(
    resolver: RailwayResolver, endpoint: str, wanted: list[Target], credential: str
) -> None:
    async def run() -> None:
        async with httpx.AsyncClient() as client:
            headers = {"authorization": f"Bearer {credential}"}
            await resolver.refresh(client, endpoint, headers, wanted)

    asyncio.run(run())


def test_environments_as_railway_reports_them(world: tuple[RailwayWorld, str]) -> None:
    railway, endpoint = world
    resolver = RailwayResolver(Policy(project_root="/"))
    wanted = [
        Target("volume", "vol-7d41"),
        Target("volume", "vol-2c9e"),
        Target("service", "svc-4b20"),
        Target("deployment", "dep-61aa"),
        Target("volumeInstance", "vi-vol-7d41-env-5f10"),
        Target("environment", "env-8a33"),
        Target("project", railway.project),
    ]
    _refresh(resolver, endpoint, wanted, railway.credential)
    assert resolver.environments("vol-7d41") == {"production"}
    assert resolver.environments("vol-2c9e") == {"staging"}
    assert resolver.environments("svc-4b20") == {"production", "staging"}
    assert resolver.environments("dep-61aa") == {"staging"}
    assert resolver.environments("vi-vol-7d41-env-5f10") == {"production"}
    assert resolver.environments("env-8a33") == {"staging"}
    assert resolver.environments(railway.project) == {"production", "staging"}
    # The decision point's view: one environment; in several, the production one.
    assert resolver.environment_of("resource", "svc-4b20") == "production"
    assert resolver.environment_of("resource", "vol-2c9e") == "staging"
    assert resolver.environment_of("host", "vol-2c9e") is None
    # Two GraphQL requests: the objects, then the environments' names.
    assert len(railway.requests) == 2
    assert all(r["authorization"] == f"Bearer {railway.credential}" for r in railway.requests)


def test_answers_are_cached_for_the_ttl(world: tuple[RailwayWorld, str]) -> None:
    railway, endpoint = world
    clock = Clock()
    resolver = RailwayResolver(Policy(project_root="/"), ttl=60, clock=clock)
    wanted = [Target("volume", "vol-7d41")]
    for _ in range(5):
        _refresh(resolver, endpoint, wanted, railway.credential)
    assert len(railway.requests) == 2
    assert (resolver.stats.hits, resolver.stats.misses) == (4, 1)
    clock.now += 61
    _refresh(resolver, endpoint, wanted, railway.credential)
    assert len(railway.requests) == 4  # looked up again, environment names too
    assert resolver.stats.misses == 2
    # A volume moved to staging is seen as such once the cache has run out.
    railway.volumes["vol-7d41"] = ["env-8a33"]
    clock.now += 61
    _refresh(resolver, endpoint, wanted, railway.credential)
    assert resolver.environments("vol-7d41") == {"staging"}


def test_the_inventory_names_environments_without_asking(
    world: tuple[RailwayWorld, str],
) -> None:
    railway, endpoint = world
    policy = Policy(
        project_root="/",
        inventory={"production": {"railway_environment": ("env-5f1*",)}},
    )
    resolver = RailwayResolver(policy)
    _refresh(resolver, endpoint, [Target("volume", "vol-7d41")], railway.credential)
    assert resolver.environments("vol-7d41") == {"production"}
    assert len(railway.requests) == 1


def test_what_railway_does_not_know_is_unknown(world: tuple[RailwayWorld, str]) -> None:
    railway, endpoint = world
    clock = Clock()
    resolver = RailwayResolver(Policy(project_root="/"), clock=clock)
    _refresh(resolver, endpoint, [Target("volume", "vol-nobody")], railway.credential)
    assert resolver.environments("vol-nobody") == {UNKNOWN}
    assert resolver.environment_of("resource", "vol-nobody") == UNKNOWN
    clock.now += 31  # not known is asked again sooner than the TTL
    _refresh(resolver, endpoint, [Target("volume", "vol-nobody")], railway.credential)
    assert resolver.stats.misses == 2


def test_a_failed_look_up_is_not_cached(world: tuple[RailwayWorld, str]) -> None:
    railway, endpoint = world
    resolver = RailwayResolver(Policy(project_root="/"))
    _refresh(resolver, endpoint, [Target("volume", "vol-7d41")], "a-wrong-credential")
    assert resolver.environments("vol-7d41") is None
    assert resolver.environment_of("resource", "vol-7d41") is None  # so: unknown
    assert resolver.stats.failures == 1
    _refresh(resolver, endpoint, [Target("volume", "vol-7d41")], railway.credential)
    assert resolver.environments("vol-7d41") == {"production"}


def test_an_unreachable_railway_leaves_everything_unknown() -> None:
    running = Running(railway_app(RailwayWorld()))
    running.stop()
    resolver = RailwayResolver(Policy(project_root="/"))
    _refresh(resolver, running.url + "/graphql/v2", [Target("volume", "vol-1")], "x")
    assert resolver.environments("vol-1") is None
    assert resolver.stats.failures == 1


def test_concurrent_requests_for_one_object_share_a_look_up(
    world: tuple[RailwayWorld, str],
) -> None:
    railway, endpoint = world
    resolver = RailwayResolver(Policy(project_root="/"))

    async def run() -> None:
        async with httpx.AsyncClient() as client:
            headers = {"authorization": f"Bearer {railway.credential}"}
            wanted = [Target("volume", "vol-2c9e")]
            await asyncio.gather(
                *(resolver.refresh(client, endpoint, headers, wanted) for _ in range(8))
            )

    asyncio.run(run())
    assert len(railway.requests) == 2
    assert (resolver.stats.hits, resolver.stats.misses) == (7, 1)
    assert resolver.environments("vol-2c9e") == {"staging"}
