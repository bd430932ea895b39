"""Real credentials (and Interlock tokens) appear in no reply, log, audit record or table.

One session does everything an agent might: reads, a reflecting endpoint, a stream, a request
outside its environment, an approval asked for, granted and used, a revoked token, and a real
Railway token sent in place of an Interlock one. Then every reply, everything printed or logged,
the audit log and every row of every table are searched for each secret.
"""

from __future__ import annotations

import json
import logging

import pytest
import sqlalchemy as sa

from interlock.server import db
from tests.gateway.conftest import Setup

DELETE_STAGING = json.dumps(
    {
        "query": "mutation VolumeDelete($id: String!) { volumeDelete(volumeId: $id) }",
        "variables": {"id": "vol-2c9e"},
    }
)


def _everything(setup: Setup) -> list[str]:
    """Every reply's status line, headers and body, as the agent saw them."""
    replies: list[str] = []
    token = setup.issue("staging")
    agent = setup.agent(token)

    def keep(answer: object) -> None:
        import httpx

        assert isinstance(answer, httpx.Response)
        replies.append(f"{answer.status_code} {dict(answer.headers)} {answer.text}")

    keep(agent.get("/gateway/api/echo?q=1"))
    keep(agent.post("/gateway/api/echo", json={"a": 1}))
    keep(agent.get("/gateway/api/reflect"))
    keep(agent.get("/gateway/api/stream"))
    keep(
        setup.graphql(
            agent,
            "mutation D($id: String!) { volumeDelete(volumeId: $id) }",
            {"id": "vol-7d41"},
        )
    )
    headers = {"Content-Type": "application/json"}
    first = agent.post("/gateway/railway/graphql/v2", content=DELETE_STAGING, headers=headers)
    keep(first)
    setup.served.vote(setup.served.sign_in("alice"), first.json()["request"]["id"])
    keep(agent.post("/gateway/railway/graphql/v2", content=DELETE_STAGING, headers=headers))
    keep(setup.graphql(agent, 'query { deployment(id: "dep-61aa") { id } }'))
    revoked = setup.issue("staging", session="sess-revoked")
    setup.tokens.revoke(setup.tokens.authenticate(revoked).id)
    keep(setup.agent(revoked).get("/gateway/api/echo"))
    keep(setup.agent(setup.railway_secret).get("/gateway/railway/graphql/v2"))
    keep(setup.agent(None, Authorization=f"Bearer {setup.api_secret}").get("/gateway/api/echo"))
    return replies


def test_no_secret_leaves_the_broker(
    gateway: Setup, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    replies = _everything(gateway)
    assert len(replies) == 11
    assert gateway.world.deleted == ["vol-2c9e"]  # the approved call did go out

    printed = capfd.readouterr()
    audit = (gateway.served.data_dir / "audit.jsonl").read_text()
    with gateway.served.service.engine.connect() as conn:
        rows = [
            f"{table.name}: {tuple(row)}"
            for table in db.metadata.sorted_tables
            for row in conn.execute(sa.select(table)).all()
        ]
    places = {
        "replies": "\n".join(replies),
        "logs": caplog.text,
        "stdout": printed.out,
        "stderr": printed.err,
        "audit": audit,
        "database": "\n".join(rows),
    }
    for secret in gateway.secrets():
        for where, text in places.items():
            assert secret not in text, f"a secret ({secret[:4]}…) is in the {where}"

    # The searches looked at something: each request has its audit record.
    records = [json.loads(line) for line in audit.splitlines()]
    outcomes = [r["outcome"] for r in records if r.get("type") == "gateway" and "outcome" in r]
    assert outcomes.count("forwarded") == 5
    assert {
        "environment_mismatch",
        "approval_pending",
        "approved",
        "unauthenticated",
    } <= set(outcomes)
    assert len(outcomes) == 11
    # and the upstreams did get the real credentials, which is the point.
    assert any(gateway.railway_secret in r["authorization"] for r in gateway.world.requests)
