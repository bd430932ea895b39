"""A token for one environment cannot reach another: the PocketOS deletion, refused and paged.

The agent worked in staging and deleted production's volume with ``volumeDelete(volumeId)``,
which names no environment (../shared/notes/anchors.md §0). Here the same request, through the
gateway with a staging token, is refused because Railway itself says the volume is production's.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from interlock.server.db import events
from tests.gateway.conftest import Setup

VOLUME_DELETE = "mutation VolumeDelete($id: String!) { volumeDelete(volumeId: $id) }"


def _events(setup: Setup, kind: str) -> list[dict[str, object]]:
    with setup.served.service.engine.connect() as conn:
        rows = conn.execute(sa.select(events).where(events.c.kind == kind)).all()
    return [json.loads(r.detail) for r in rows]


def test_a_staging_token_cannot_delete_the_production_volume(gateway: Setup) -> None:
    agent = gateway.agent(gateway.issue("staging"))
    answer = gateway.graphql(agent, VOLUME_DELETE, {"id": "vol-7d41"})
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["code"] == "environment_mismatch"
    assert "vol-7d41" in error["message"] and "production" in error["message"]
    # Railway was asked where the volume is (with the broker's credential), never to delete it.
    assert gateway.world.mutations() == []
    assert gateway.world.deleted == []
    asked = [r for r in gateway.world.requests if b"volumeInstances" in r["body"]]
    assert asked and asked[0]["authorization"] == f"Bearer {gateway.railway_secret}"
    # An alert that pages: the events row, then PagerDuty.
    (alert,) = _events(gateway, "gateway_env_mismatch")
    assert alert["environment"] == "staging"
    assert alert["targets"] == [
        {"kind": "volume", "id": "vol-7d41", "environments": ["production"]}
    ]
    (paged,) = [e for e in _wait_for_pages(gateway, 1)]
    assert paged["event_action"] == "trigger"
    assert paged["payload"]["severity"] == "critical"
    assert "vol-7d41" in paged["payload"]["summary"]


def _wait_for_pages(setup: Setup, count: int) -> list[dict[str, Any]]:
    setup.pagerduty.wait_for(count, ok=True)
    return setup.pagerduty.events()


def test_reading_production_is_outside_a_staging_token_too(gateway: Setup) -> None:
    """``variables(environmentId: production)`` hands over production's secrets."""
    agent = gateway.agent(gateway.issue("staging"))
    query = "query V($p: String!, $e: String!) { variables(projectId: $p, environmentId: $e) }"
    refused = gateway.graphql(agent, query, {"p": "prj-0c77", "e": "env-5f10"})
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "environment_mismatch"
    allowed = gateway.graphql(agent, query, {"p": "prj-0c77", "e": "env-8a33"})
    assert allowed.status_code == 200, allowed.text
    assert "DATABASE_URL" in allowed.json()["data"]["variables"]


def test_a_service_in_both_environments_cannot_be_deleted_from_staging(gateway: Setup) -> None:
    """``serviceDelete`` removes every instance, production's included."""
    agent = gateway.agent(gateway.issue("staging"))
    answer = gateway.graphql(agent, 'mutation { serviceDelete(id: "svc-4b20") }')
    assert answer.status_code == 403, answer.text
    assert "production" in answer.json()["error"]["message"]
    assert "svc-4b20" in gateway.world.services


def test_an_object_railway_does_not_know_is_production(gateway: Setup) -> None:
    agent = gateway.agent(gateway.issue("staging"))
    answer = gateway.graphql(agent, VOLUME_DELETE, {"id": "vol-nobody-knows"})
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "environment_mismatch"
    assert "unknown" in answer.json()["error"]["message"]
    assert gateway.world.mutations() == []


def test_a_staging_read_of_staging_objects_goes_through(gateway: Setup) -> None:
    agent = gateway.agent(gateway.issue("staging"))
    query = 'query { deployment(id: "dep-61aa") { id status } }'
    answer = gateway.graphql(agent, query)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"data": {"deployment": {"id": "dep-61aa", "status": "SUCCESS"}}}
