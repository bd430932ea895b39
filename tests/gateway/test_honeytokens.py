"""A decoy credential sent through the gateway stops the session and pages (issue 6 item 5).

The PocketOS agent went looking for a token in files it had no business reading. Here the
project holds planted decoys (``interlock honeytoken plant``); the agent that found one and
uses it, in place of its Interlock token or inside a request, is stopped.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from interlock import honeytokens, killswitch
from interlock.server.db import events
from tests.gateway.conftest import SESSION, Setup


def _plant(setup: Setup) -> dict[str, honeytokens.Honeytoken]:
    planted = honeytokens.plant(setup.served.project, setup.served.data_dir)
    return {t.kind: t for t in planted.tokens}


def _alerts(setup: Setup) -> list[dict[str, object]]:
    with setup.served.service.engine.connect() as conn:
        rows = conn.execute(sa.select(events.c.detail).where(events.c.kind == "honeytoken"))
        return [json.loads(detail) for detail in rows.scalars()]


def test_a_decoy_in_place_of_the_token_is_refused_and_pages(gateway: Setup) -> None:
    decoys = _plant(gateway)
    railway = next(t for kind, t in decoys.items() if "railway" in kind)
    agent = gateway.agent(None, Authorization=f"Bearer {railway.value.reveal()}")
    answer = gateway.graphql(agent, 'query { deployment(id: "dep-61aa") { id } }')
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "honeytoken"
    assert railway.where() in answer.json()["error"]["message"]
    assert railway.value.reveal() not in answer.text
    assert gateway.world.requests == []  # nothing reached Railway, not even a look-up
    (alert,) = _alerts(gateway)
    assert alert["file"] == railway.where()
    pages = gateway.pagerduty.wait_for(1, ok=True)
    page = json.loads(pages[0].body)
    assert page["payload"]["severity"] == "critical"
    assert railway.where() in page["payload"]["summary"]


def test_a_decoy_inside_a_request_stops_the_holders_session(gateway: Setup) -> None:
    decoys = _plant(gateway)
    token = gateway.issue("staging")
    agent = gateway.agent(token)
    assert agent.get("/gateway/api/echo").status_code == 200
    database = next(t for kind, t in decoys.items() if "database" in kind)
    answer = agent.post(
        "/gateway/api/echo", json={"url": f"postgres://{database.value.reveal()}@db"}
    )
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "honeytoken"
    # The session is stopped: its tokens are suspended at once, and its kill file is there.
    refused = agent.get("/gateway/api/echo")
    assert refused.status_code == 401 and refused.json()["reason"] == "suspended"
    key = killswitch.session_key(SESSION)
    assert (gateway.served.data_dir / killswitch.SESSIONS_DIR / key).exists()
    (alert,) = _alerts(gateway)
    assert alert["session"] == SESSION and alert["suspended"] == 1
    assert [r["method"] for r in gateway.upstream.requests] == ["GET"]
