"""The REST API over real HTTP: who can approve, the error shape, limits, long polls, sessions.

Issue 5, "Done when": a request cannot be approved by the requester, by an agent token, twice,
after expiry, or for a different command than the one shown. One test per case, first.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from interlock.server.accounts import SESSION_SECONDS
from interlock.server.openapi import document
from tests.server.conftest import (
    FORCE_PUSH,
    PASSWORD,
    PROD_DROP,
    MakeServer,
    Served,
    action_json,
)


def snapshot(server: Served, request_id: str) -> tuple[Any, ...]:
    """Everything an approval could change: the request, its votes, the switch, the events."""
    view = server.service.get(request_id)
    assert view is not None
    return (
        view["state"],
        view["votes"],
        view["consumed"],
        server.service.kill_state(),
        len(server.service.events_since(0, 100_000)),
        (server.data_dir / "KILLED").exists(),
    )


def card_binding(client: httpx.Client, request_id: str) -> str:
    answer = client.get(f"/api/v1/requests/{request_id}")
    assert answer.status_code == 200, answer.text
    binding: str = answer.json()["binding"]
    return binding


def vote_body(binding: str, vote: str = "approve") -> dict[str, Any]:
    return {"vote": vote, "binding": binding, "note": ""}


def refused(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    message: str = answer.json()["error"]["message"]
    return message


# --- Done when: who cannot approve -----------------------------------------------------------


def test_the_requester_cannot_approve_their_own_request(server: Served) -> None:
    request_id = server.file(action_json(FORCE_PUSH, cwd=server.project), requester="alice")
    alice = server.sign_in("alice")
    before = snapshot(server, request_id)
    message = refused(server.vote(alice, request_id), 409, "refused")
    assert "requester" in message
    assert snapshot(server, request_id) == before


def _routes(server: Served) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app serves, ``{...}`` parameters filled in later."""
    for route in server.app.routes:
        if isinstance(route, Route):
            for method in sorted(route.methods or {"GET"}):
                if method != "HEAD":
                    yield method, route.path
        elif isinstance(route, Mount):
            yield "GET", route.path + "/x"


def _credentials(
    server: Served, request_id: str, binding: str, cookie: str
) -> dict[str, dict[str, Any]]:
    """What an agent could hold or forge, as cookies and headers (none of it approver-like)."""
    csrf = server.sign_in("bob", add=False).headers["X-CSRF-Token"]
    forged = secrets.token_urlsafe(32)
    return {
        "nothing": {},
        "forged cookie": {"cookies": {"interlock_session": forged}},
        "forged cookie and csrf": {
            "cookies": {"interlock_session": forged},
            "headers": {"X-CSRF-Token": forged},
        },
        "csrf without cookie": {"headers": {"X-CSRF-Token": csrf}},
        "cookie without csrf": {"cookies": {"interlock_session": cookie}},
        "cookie with wrong csrf": {
            "cookies": {"interlock_session": cookie},
            "headers": {"X-CSRF-Token": secrets.token_urlsafe(24)},
        },
        "cookie with empty csrf": {
            "cookies": {"interlock_session": cookie},
            "headers": {"X-CSRF-Token": ""},
        },
        "request id as bearer": {"headers": {"Authorization": f"Bearer {request_id}"}},
        "binding as bearer": {"headers": {"Authorization": f"Bearer {binding}"}},
        "request id as X-Interlock-Token": {"headers": {"X-Interlock-Token": request_id}},
        "binding as X-Interlock-Token": {"headers": {"X-Interlock-Token": binding}},
        "binding as csrf": {"headers": {"X-CSRF-Token": binding}},
    }


def _send(agent: httpx.Client, method: str, path: str, body: dict[str, Any]) -> int:
    with agent.stream(method, path, **body) as answer:  # a stream: /api/v1/events never ends
        return answer.status_code


def test_an_agents_credentials_cannot_approve_through_any_endpoint(server: Served) -> None:
    """Every route, every method, JSON and form bodies, with everything an agent might hold."""
    action = action_json(FORCE_PUSH, cwd=server.project)
    request_id = server.file(action)
    binding = card_binding(server.sign_in("alice"), request_id)
    fields = {"vote": "approve", "binding": binding, "note": "", "killed": "true"}
    bodies: list[dict[str, Any]] = [
        {"json": {**fields, "killed": True, "action": action}},
        {"data": {**fields, "csrf": binding}},
    ]
    server.add_approver("bob")
    bob = server.sign_in("bob", add=False).cookies["interlock_session"]
    before = snapshot(server, request_id)
    tried = 0
    for name, held in _credentials(server, request_id, binding, bob).items():
        has_session = "cookie with" in name or name == "cookie without csrf"
        agent = server.agent(**held.get("headers", {}))
        agent.cookies.update(held.get("cookies", {}))
        for method, template in _routes(server):
            if has_session and method == "GET":
                continue  # a real approver may read; only writes need the CSRF token
            path = template.replace("{id}", request_id)
            for body in bodies if method != "GET" else [{}]:
                status = _send(agent, method, path, body)
                agent.cookies.clear()  # what a page set (a sign-in's cookie) is not kept
                agent.cookies.update(held.get("cookies", {}))
                tried += 1
                if (method, template) == ("POST", "/api/v1/requests") and "json" in body:
                    assert status == 201, (name, method, path)  # the same pending request
                elif path.startswith("/api/") and method != "GET":
                    assert status >= 400, (name, method, path, status)
                # The dashboard's pages may redirect to its sign-in page; what counts is this:
                assert snapshot(server, request_id) == before, (name, method, path, body)
    assert tried > 100
    # Nothing above signed the real session out either (sign-out needs the CSRF token too).
    still = server.agent(Cookie=f"interlock_session={bob}")
    assert still.get("/api/v1/session").json()["username"] == "bob"
    assert server.service.status(request_id)["approved_by"] == []  # type: ignore[index]
    # The same approver, with the token the sign-in gave them, can: the test is not vacuous.
    assert server.vote(server.sign_in("alice"), request_id).json()["state"] == "approved"


def test_a_request_cannot_be_approved_twice(server: Served) -> None:
    request_id = server.file(action_json(FORCE_PUSH, cwd=server.project))
    alice, bob = server.sign_in("alice"), server.sign_in("bob")
    binding = card_binding(alice, request_id)
    assert server.vote(alice, request_id).json()["state"] == "approved"
    for voter in (alice, bob):
        answer = voter.post(f"/api/v1/requests/{request_id}/votes", json=vote_body(binding))
        assert "already approved" in refused(answer, 409, "refused")
    events = [e["kind"] for e in server.service.events_since(0) if e["request_id"] == request_id]
    assert events.count("approved") == 1


def test_an_approval_lets_the_command_through_once(server: Served) -> None:
    action = action_json(FORCE_PUSH, cwd=server.project)
    request_id = server.file(action)
    server.vote(server.sign_in("alice"), request_id)
    first, second = server.submit(action).json(), server.submit(action).json()
    assert (first["state"], first["id"]) == ("approved", request_id)
    assert second["state"] == "pending" and second["id"] != request_id


def test_a_request_cannot_be_approved_after_expiry(server: Served) -> None:
    action = action_json(FORCE_PUSH, cwd=server.project)
    request_id = server.file(action)
    alice = server.sign_in("alice")
    binding = card_binding(alice, request_id)
    server.service.clock = lambda: time.time() + 3600
    answer = alice.post(f"/api/v1/requests/{request_id}/votes", json=vote_body(binding))
    assert "expired" in refused(answer, 409, "refused")
    status = server.agent().get(f"/api/v1/requests/{request_id}/status").json()
    assert status["state"] == "expired"
    again = server.submit(action).json()
    assert again["state"] == "pending" and again["id"] != request_id


def test_a_vote_for_another_command_than_the_card_shows_is_refused(server: Served) -> None:
    shown = server.file(action_json(PROD_DROP, cwd=server.project))
    edited = server.file(action_json(PROD_DROP.replace("users", "orders"), cwd=server.project))
    alice = server.sign_in("alice")
    seen = card_binding(alice, shown)
    before = snapshot(server, edited)
    answer = alice.post(f"/api/v1/requests/{edited}/votes", json=vote_body(seen))
    assert "another action" in refused(answer, 409, "refused")
    assert snapshot(server, edited) == before


def test_an_approved_command_edited_afterwards_is_a_new_request(server: Served) -> None:
    request_id = server.file(action_json(FORCE_PUSH, cwd=server.project))
    server.vote(server.sign_in("alice"), request_id)
    edited = server.submit(action_json(FORCE_PUSH + " --no-verify", cwd=server.project)).json()
    assert edited["state"] == "pending" and edited["id"] != request_id
    assert server.service.get(request_id)["consumed"] is False  # type: ignore[index]


# --- errors and limits -----------------------------------------------------------------------


def test_every_error_has_the_one_json_shape(server: Served) -> None:
    agent = server.agent()
    alice = server.sign_in("alice")
    request_id = server.file(action_json(FORCE_PUSH, cwd=server.project))
    no_csrf = httpx.Client(base_url=server.url, cookies=alice.cookies)
    answers = {
        404: agent.get("/api/v1/nothing-here"),
        405: agent.put("/api/v1/requests"),
        401: agent.get("/api/v1/requests"),
        403: no_csrf.post("/api/v1/killswitch", json={"killed": True}),
        400: agent.post("/api/v1/requests", content=b"{not json"),
        409: alice.post(f"/api/v1/requests/{request_id}/votes", json=vote_body("sha256:x")),
        413: agent.post("/api/v1/requests", content=b" " * 1_000_001),
    }
    no_csrf.close()
    answers[404 + 1000] = agent.get("/api/v1/requests/req_nope/status")
    for status, answer in answers.items():
        assert answer.status_code == status % 1000, (status, answer.text)
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
        assert all(isinstance(v, str) and v for v in body["error"].values())


def test_a_body_over_1_mb_is_refused_with_413(server: Served) -> None:
    agent = server.agent()
    big = b'{"action": "' + b"x" * 1_000_000 + b'"}'
    assert refused(agent.post("/api/v1/requests", content=big), 413, "too_large")

    def chunked() -> Iterator[bytes]:  # no Content-Length: refused as it arrives
        yield b'{"action": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}'

    assert refused(agent.post("/api/v1/requests", content=chunked()), 413, "too_large")
    just_under = {"action": action_json("echo " + "y" * 900_000, cwd=server.project)}
    assert agent.post("/api/v1/requests", json=just_under).status_code != 413


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"{}",
        b'{"action": null}',
        b'{"action": "rm -rf /"}',
        b'{"action": {"kind": "teleport", "payload": {}}}',
        b'{"action": {"kind": "shell"}}',
        b'{"action": {"kind": "shell", "payload": {"command": 7}}}',
        b'{"action": {"kind": "shell", "payload": {"command": "ls", "sudo": true}}}',
        b'{"action": {"kind": "shell", "payload": {}}}',
        b'{"action": {"kind": "shell", "payload": {"command": "ls"}, "env": 3}}',
        b'{"action": {"kind": "shell", "payload": {"command": "ls"}, "actor": {"agent": 1}}}',
        b'{"action": {"kind": "shell", "payload": {"command": "ls"}}, "reason": 5}',
        b'{"action": {"kind": "shell", "payload": {"command": "ls"}}, "requester": []}',
    ],
)
def test_a_malformed_action_is_refused_with_400(server: Served, body: bytes) -> None:
    answer = server.agent().post(
        "/api/v1/requests", content=body, headers={"content-type": "application/json"}
    )
    refused(answer, 400, "bad_request")
    assert server.service.requests() == []


def test_openapi_lists_exactly_the_apps_api_routes(server: Served) -> None:
    served = server.agent().get("/api/v1/openapi.json").json()
    assert served == document()
    documented = {
        (method.upper(), path) for path, item in served["paths"].items() for method in item
    }
    routed = {
        (method, path)
        for method, path in _routes(server)
        if path.startswith("/api/") or path == "/health"
    }
    assert documented == routed


def test_an_unknown_state_filter_is_refused(server: Served) -> None:
    alice = server.sign_in("alice")
    refused(alice.get("/api/v1/requests", params={"state": "approvedish"}), 400, "bad_request")
    assert alice.get("/api/v1/requests", params={"state": "pending"}).json() == {"requests": []}


# --- long polls ------------------------------------------------------------------------------


def test_a_long_poll_returns_as_soon_as_the_request_is_decided(server: Served) -> None:
    request_id = server.file(action_json(FORCE_PUSH, cwd=server.project))
    alice = server.sign_in("alice")
    answered: dict[str, Any] = {}

    def poll() -> None:
        agent = server.agent()
        answer = agent.get(f"/api/v1/requests/{request_id}/status", params={"wait": 20})
        answered["at"] = time.monotonic()
        answered["body"] = answer.json()

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    assert poller.is_alive(), "the long poll answered while the request was pending"
    voted = time.monotonic()
    server.vote(alice, request_id)
    poller.join(10)
    assert answered["body"]["state"] == "approved"
    assert answered["at"] - voted < 0.5, answered["at"] - voted


def test_a_long_poll_is_capped_by_long_poll_max(make_server: MakeServer) -> None:
    server = make_server(long_poll_max=1.0)
    request_id = server.file(action_json(FORCE_PUSH, cwd=server.project))
    started = time.monotonic()
    answer = server.agent().get(f"/api/v1/requests/{request_id}/status", params={"wait": 60})
    assert answer.json()["state"] == "pending"
    assert 0.9 < time.monotonic() - started < 3
    refused(
        server.agent().get(f"/api/v1/requests/{request_id}/status", params={"wait": "soon"}),
        400,
        "bad_request",
    )


def test_an_agent_sees_the_state_not_the_card(server: Served) -> None:
    request_id = server.file(action_json(PROD_DROP, cwd=server.project), reason="cleanup")
    status = server.agent().get(f"/api/v1/requests/{request_id}/status").json()
    assert set(status) == {"id", "state", "quorum", "approved_by", "expires_in", "consumed"}
    assert status["quorum"] == 2


# --- sessions --------------------------------------------------------------------------------


def test_sign_in_and_sign_out(server: Served) -> None:
    server.add_approver("alice")
    client = server.agent()
    wrong = client.post("/api/v1/session", json={"username": "alice", "password": "nope" * 4})
    refused(wrong, 401, "unauthenticated")
    unknown = client.post("/api/v1/session", json={"username": "mallory", "password": PASSWORD})
    refused(unknown, 401, "unauthenticated")
    assert "interlock_session" not in client.cookies

    opened = client.post("/api/v1/session", json={"username": "alice", "password": PASSWORD})
    assert opened.status_code == 200
    cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert f"max-age={int(SESSION_SECONDS)}" in cookie
    token = client.cookies["interlock_session"]
    csrf = opened.json()["csrf"]
    assert client.get("/api/v1/session").json() == {"username": "alice", "csrf": csrf}

    refused(client.delete("/api/v1/session"), 403, "forbidden")  # sign-out needs the CSRF too
    assert client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    replay = httpx.Client(base_url=server.url, cookies={"interlock_session": token})
    refused(replay.get("/api/v1/session"), 401, "unauthenticated")
    replay.close()


def test_sessions_expire(server: Served) -> None:
    alice = server.sign_in("alice")
    assert alice.get("/api/v1/requests").status_code == 200
    server.accounts.clock = lambda: time.time() + SESSION_SECONDS + 1
    refused(alice.get("/api/v1/requests"), 401, "unauthenticated")


def test_removing_an_approver_ends_their_sessions(server: Served) -> None:
    alice = server.sign_in("alice")
    server.accounts.remove("alice")
    refused(alice.get("/api/v1/session"), 401, "unauthenticated")


# --- the kill switch -------------------------------------------------------------------------


def test_the_kill_switch_over_http(server: Served) -> None:
    action = action_json(FORCE_PUSH, cwd=server.project)
    request_id = server.file(action)
    alice = server.sign_in("alice")
    on = alice.post("/api/v1/killswitch", json={"killed": True, "reason": "runaway"})
    assert on.json() == {"killed": True}
    public = server.agent().get("/api/v1/killswitch").json()
    assert (public["killed"], public["by"], public["reason"]) == (True, "alice", "runaway")
    assert (server.data_dir / "KILLED").is_file()
    assert server.service.get(request_id)["state"] == "denied"  # type: ignore[index]
    assert server.submit(action).json()["state"] == "killed"
    refused(alice.post("/api/v1/killswitch", json={"killed": "yes"}), 400, "bad_request")

    assert alice.post("/api/v1/killswitch", json={"killed": False}).json() == {"killed": False}
    assert not (server.data_dir / "KILLED").exists()
    assert server.submit(action).json()["state"] == "pending"
