"""The velocity limit: a session over its budget of denied or destructive attempts is stopped,
by whichever replica it is talking to."""

from __future__ import annotations

import json

import sqlalchemy as sa

from interlock.server.db import events, gateway_attempts
from tests.gateway.conftest import SESSION, MakeGateway, Setup

PROD_DELETE = "mutation D($id: String!) { volumeDelete(volumeId: $id) }"


def _kinds(setup: Setup) -> list[str]:
    with setup.served.service.engine.connect() as conn:
        return [r.kind for r in conn.execute(sa.select(events.c.kind)).all()]


def test_the_fourth_refusal_within_a_minute_suspends_the_session(gateway: Setup) -> None:
    token = gateway.issue("staging")
    spare = gateway.issue("staging")  # another token of the same session
    agent = gateway.agent(token)
    codes = []
    for _ in range(4):
        answer = gateway.graphql(agent, PROD_DELETE, {"id": "vol-7d41"})
        codes.append(answer.json()["error"]["code"])
    assert codes == ["environment_mismatch"] * 3 + ["session_suspended"]
    assert gateway.world.deleted == []
    for held in (token, spare):
        refused = gateway.agent(held).get("/gateway/api/echo")
        assert refused.status_code == 401, refused.text
        assert refused.json()["reason"] == "suspended"
    assert gateway.upstream.requests == []
    assert _kinds(gateway).count("gateway_velocity") == 1
    with gateway.served.service.engine.connect() as conn:
        (detail,) = conn.execute(
            sa.select(events.c.detail).where(events.c.kind == "gateway_velocity")
        ).scalars()
    alert = json.loads(detail)
    assert alert["session"] == SESSION and alert["attempts"] == 4 and alert["budget"] == 3
    # Four mismatch pages and the velocity page, each once.
    pages = gateway.pagerduty.wait_for(5, ok=True)
    assert len(pages) == 5
    # Another session is not affected.
    other = gateway.agent(gateway.issue("staging", session="sess-other"))
    assert other.get("/gateway/api/echo").status_code == 200


def test_sending_a_waiting_request_again_is_one_attempt(gateway: Setup) -> None:
    token = gateway.issue("staging")
    agent = gateway.agent(token)
    body = json.dumps({"query": PROD_DELETE, "variables": {"id": "vol-2c9e"}})
    headers = {"Content-Type": "application/json"}
    for _ in range(6):
        answer = agent.post("/gateway/railway/graphql/v2", content=body, headers=headers)
        assert answer.status_code == 409, answer.text
    with gateway.served.service.engine.connect() as conn:
        keys = conn.execute(sa.select(gateway_attempts.c.key)).scalars().all()
    assert len(keys) == 6 and len(set(keys)) == 1
    assert agent.get("/gateway/api/echo").status_code == 200


def test_replicas_count_the_same_attempts(make_gateway: MakeGateway, fresh_pg_url: str) -> None:
    first = make_gateway(database_url=fresh_pg_url)
    second = first.replica()
    token = first.issue("staging")
    codes = []
    for via in (first.served, second, first.served, second):
        answer = first.graphql(first.agent(token, via=via), PROD_DELETE, {"id": "vol-7d41"})
        codes.append(answer.json()["error"]["code"])
    assert codes == ["environment_mismatch"] * 3 + ["session_suspended"]
    assert first.agent(token, via=first.served).get("/gateway/api/echo").status_code == 401
