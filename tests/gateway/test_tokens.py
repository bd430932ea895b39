"""Who gets through at all: a live Interlock token for a configured upstream it names."""

from __future__ import annotations

import secrets
import time

import pytest

from interlock.broker.tokens import Tokens
from interlock.gateway.admission import REMEMBER
from tests.gateway.conftest import SESSION, Setup


def _echo(setup: Setup, token: str | None, **headers: str) -> tuple[int, dict[str, object]]:
    answer = setup.agent(token, **headers).get("/gateway/api/echo")
    return answer.status_code, answer.json()


def test_a_live_token_gets_through(gateway: Setup) -> None:
    status, body = _echo(gateway, gateway.issue("staging"))
    assert status == 200, body
    assert body["path"] == "/echo"


def test_a_revoked_token_is_refused(gateway: Setup) -> None:
    token = gateway.issue("staging")
    assert _echo(gateway, token)[0] == 200
    info = gateway.tokens.authenticate(token)
    gateway.tokens.revoke(info.id)
    # The replica remembers a token it let in for at most REMEMBER seconds (admission.py).
    time.sleep(REMEMBER + 0.1)
    status, body = _echo(gateway, token)
    assert status == 401, body
    assert body["error"]["code"] == "unauthenticated"  # type: ignore[index]
    assert body["reason"] == "revoked"
    assert len(gateway.upstream.requests) == 1


def test_an_expired_token_is_refused(gateway: Setup) -> None:
    earlier = Tokens(gateway.served.service.engine, clock=lambda: time.time() - 120)
    token, _ = earlier.issue("cursor", SESSION, "staging", upstreams=("api",), ttl=60)
    gateway.issued.append(token)
    status, body = _echo(gateway, token)
    assert status == 401, body
    assert body["reason"] == "expired"
    assert gateway.upstream.requests == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer ilk_" + secrets.token_urlsafe(32)},  # well formed, unknown
        {"X-Interlock-Token": "ilk_short"},
        {"Authorization": "Bearer rw_a_real_railway_token_found_in_a_file"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
    ids=["none", "unknown", "malformed", "a-provider-token", "basic"],
)
def test_anything_but_a_known_token_is_refused(gateway: Setup, headers: dict[str, str]) -> None:
    status, body = _echo(gateway, None, **headers)
    assert status == 401, body
    assert body["error"]["code"] == "unauthenticated"  # type: ignore[index]
    assert gateway.upstream.requests == []


def test_the_token_may_come_as_x_interlock_token(gateway: Setup) -> None:
    token = gateway.issue("staging")
    status, body = _echo(gateway, None, **{"X-Interlock-Token": token})
    assert status == 200, body


def test_an_upstream_the_token_does_not_name_is_refused(gateway: Setup) -> None:
    token = gateway.issue("staging", upstreams=("railway",))
    status, body = _echo(gateway, token)
    assert status == 403, body
    assert body["error"]["code"] == "upstream_not_allowed"  # type: ignore[index]
    assert gateway.upstream.requests == []


def test_an_unknown_upstream_is_refused(gateway: Setup) -> None:
    agent = gateway.agent(gateway.issue("staging"))
    answer = agent.get("/gateway/nowhere/anything")
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "unknown_upstream"


def test_an_operation_the_token_does_not_allow_is_refused(gateway: Setup) -> None:
    token = gateway.issue("staging", operations=("http.read",))
    agent = gateway.agent(token)
    assert agent.get("/gateway/api/echo").status_code == 200
    answer = agent.post("/gateway/api/echo", json={"name": "x"})
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "operation_not_allowed"
    assert [r["method"] for r in gateway.upstream.requests] == ["GET"]


def test_the_kill_switch_denies_every_gateway_request(gateway: Setup) -> None:
    token = gateway.issue("staging")
    assert _echo(gateway, token)[0] == 200
    approver = gateway.served.sign_in("erin")
    assert approver.post("/api/v1/killswitch", json={"killed": True, "reason": "drill"}).is_success
    status, body = _echo(gateway, token)
    assert status == 403, body
    assert body["error"]["code"] == "killed"  # type: ignore[index]
    assert "drill" in body["error"]["message"]  # type: ignore[index]
    assert approver.post("/api/v1/killswitch", json={"killed": False}).is_success
    assert _echo(gateway, token)[0] == 200
    assert len(gateway.upstream.requests) == 2


def test_the_shared_switch_is_seen_without_this_replicas_file(gateway: Setup) -> None:
    """Another replica turned it on: this one reads the database (within 0.25 s)."""
    token = gateway.issue("staging")
    gateway.served.service.kill("frank", "from another replica")
    time.sleep(0.3)
    (gateway.served.data_dir / "KILLED").unlink(missing_ok=True)
    status, body = _echo(gateway, token)
    assert status == 403, body
    assert body["error"]["code"] == "killed"  # type: ignore[index]
