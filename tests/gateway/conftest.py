"""Fixtures for the gateway: the real server (tests/server/conftest.py) with [gateway] configured,
a fake Railway and a fake generic API behind it, broker credentials and Interlock tokens.

``gateway`` (a :class:`Setup`) has ``issue(env)`` (a token for an agent session),
``agent(token)`` (an httpx client holding only that token and the gateway's address),
``graphql(client, query, variables)`` and the real credentials the tests look for everywhere.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from interlock.broker import keys
from interlock.broker.credentials import Credentials
from interlock.broker.tokens import Tokens
from interlock.server.settings import Channel
from tests.gateway.fakes import (
    RailwayWorld,
    Running,
    UpstreamRecord,
    railway_app,
    upstream_app,
)
from tests.server.conftest import (  # noqa: F401  (fixtures used by name)
    MakeServer,
    Served,
    _no_outside_configuration,
    fresh_pg_url,
    make_server,
    pg_scratch,
    pg_url,
    project,
)
from tests.server.fakes import PagerDutyEvents

SESSION = "sess-staging-1"


def gateway_toml(railway: str, api: str) -> str:
    return f"""\
[environments]
default = "development"

[gateway]
velocity = {{attempts = 3, window = 60}}
resolver_ttl = 300

[gateway.upstreams.railway]
url = "{railway}"
provider = "railway"
credential = "railway"

[gateway.upstreams.api]
url = "{api}"
credential = "api"
"""


@dataclass
class Setup:
    served: Served
    world: RailwayWorld
    upstream: UpstreamRecord
    pagerduty: PagerDutyEvents
    railway_secret: str
    api_secret: str
    replica: Callable[[], Served]
    """Another server on the same database and configuration."""
    _clients: list[httpx.Client] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> Tokens:
        return Tokens(self.served.service.engine)

    def issue(
        self,
        environment: str = "staging",
        *,
        session: str = SESSION,
        upstreams: tuple[str, ...] = ("railway", "api"),
        **options: Any,
    ) -> str:
        token, _ = self.tokens.issue("cursor", session, environment, upstreams=upstreams, **options)
        self.issued.append(token)
        return token

    def agent(
        self, token: str | None = None, *, via: Served | None = None, **headers: str
    ) -> httpx.Client:
        """A client holding only ``token`` and the address of the server (``via`` another)."""
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        base = (via or self.served).url
        client = httpx.Client(base_url=base, timeout=30, headers=headers)
        self._clients.append(client)
        return client

    def graphql(
        self, client: httpx.Client, query: str, variables: dict[str, Any] | None = None
    ) -> httpx.Response:
        body = json.dumps({"query": query, "variables": variables or {}})
        return client.post(
            "/gateway/railway/graphql/v2",
            content=body,
            headers={"Content-Type": "application/json"},
        )

    def secrets(self) -> list[str]:
        """Everything that must never appear outside the broker and the upstream."""
        return [self.railway_secret, self.api_secret, *self.issued]

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def broker_key(monkeypatch: pytest.MonkeyPatch) -> keys.BrokerKey:
    encoded = base64.b64encode(os.urandom(keys.KEY_BYTES)).decode()
    monkeypatch.setenv(keys.ENV, encoded)
    return keys.load(Path("/nonexistent"))


MakeGateway = Callable[..., Setup]


@pytest.fixture
def make_gateway(
    make_server: MakeServer,  # noqa: F811  (the fixture imported above)
    project: Path,  # noqa: F811
    broker_key: keys.BrokerKey,
) -> Iterator[MakeGateway]:
    """``make_gateway(database_url=None)``: fakes, [gateway] in the project, a server, the
    broker's credentials. ``setup.replica()`` starts another server on the same database."""
    made: list[tuple[Setup, Running, Running]] = []

    def make(database_url: str | None = None) -> Setup:
        world = RailwayWorld(credential="rw_" + secrets.token_urlsafe(24))
        record = UpstreamRecord()
        railway = Running(railway_app(world))
        api = Running(upstream_app(record))
        pagerduty = PagerDutyEvents()
        (project / "interlock.toml").write_text(gateway_toml(railway.url, api.url))
        channel = Channel(
            "pd",
            "pagerduty",
            url=_secret(pagerduty.url),
            routing_key=_secret(pagerduty.routing_key),
        )

        def serve() -> Served:
            return make_server(database_url=database_url, notify=(channel,))

        served = serve()
        api_secret = "sk_live_" + secrets.token_urlsafe(24)
        credentials = Credentials(served.service.engine, broker_key)
        credentials.add("railway", "railway", world.credential)
        credentials.add("api", "api", api_secret)
        setup = Setup(served, world, record, pagerduty, world.credential, api_secret, serve)
        made.append((setup, railway, api))
        return setup

    yield make
    for setup, railway, api in made:
        setup.close()
        railway.stop()
        api.stop()
        setup.pagerduty.close()


@pytest.fixture
def gateway(make_gateway: MakeGateway) -> Setup:
    """The gateway on SQLite, with everything behind it."""
    return make_gateway()


def _secret(value: str) -> Any:
    from interlock.secrets import Secret

    return Secret(value)
