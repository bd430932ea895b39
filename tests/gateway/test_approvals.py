"""A destructive request waits for people, then goes out once, with exactly the approved bytes."""

from __future__ import annotations

import json

from tests.gateway.conftest import Setup

DELETE_STAGING = json.dumps(
    {
        "query": "mutation VolumeDelete($id: String!) { volumeDelete(volumeId: $id) }",
        "variables": {"id": "vol-2c9e"},
    }
)


def _send(setup: Setup, token: str, body: str) -> tuple[int, dict[str, object]]:
    answer = setup.agent(token).post(
        "/gateway/railway/graphql/v2",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    return answer.status_code, answer.json()


def test_an_approved_delete_is_forwarded_once_with_the_approved_body(gateway: Setup) -> None:
    token = gateway.issue("staging")
    status, first = _send(gateway, token, DELETE_STAGING)
    assert status == 409, first
    assert first["error"]["code"] == "approval_pending"  # type: ignore[index]
    request = first["request"]
    assert isinstance(request, dict)
    assert request["url"].endswith(f"/requests/{request['id']}")
    assert request["status_url"].endswith(f"/api/v1/requests/{request['id']}/status")
    # Sent again while it waits: the same request, nothing forwarded, nobody paged twice.
    status, again = _send(gateway, token, DELETE_STAGING)
    assert status == 409 and again["request"]["id"] == request["id"]  # type: ignore[index]
    assert gateway.world.mutations() == []

    card = gateway.served.sign_in("alice").get(f"/api/v1/requests/{request['id']}").json()
    assert card["environment"] == "staging"
    assert "vol-2c9e" in json.dumps(card["card"])
    voted = gateway.served.vote(gateway.served.sign_in("alice", add=False), request["id"])
    assert voted.status_code == 200 and voted.json()["state"] == "approved", voted.text

    status, done = _send(gateway, token, DELETE_STAGING)
    assert status == 200, done
    assert done == {"data": {"volumeDelete": True}}
    assert gateway.world.mutations() == [DELETE_STAGING.encode()]
    assert gateway.world.deleted == ["vol-2c9e"]

    # The approval is used up: the same request again is a new one, not forwarded.
    status, third = _send(gateway, token, DELETE_STAGING)
    assert status == 409, third
    assert third["request"]["id"] != request["id"]  # type: ignore[index]
    assert len(gateway.world.mutations()) == 1


def test_an_edited_body_is_a_new_request(gateway: Setup) -> None:
    token = gateway.issue("staging")
    _, first = _send(gateway, token, DELETE_STAGING)
    request_id = first["request"]["id"]  # type: ignore[index]
    approver = gateway.served.sign_in("bob")
    assert gateway.served.vote(approver, request_id).json()["state"] == "approved"

    edited = DELETE_STAGING.replace('"variables"', ' "variables"')  # one more space
    status, answer = _send(gateway, token, edited)
    assert status == 409, answer
    assert answer["request"]["id"] != request_id  # type: ignore[index]
    assert gateway.world.mutations() == []
    # The approved bytes still go out, once.
    status, _ = _send(gateway, token, DELETE_STAGING)
    assert status == 200
    assert gateway.world.mutations() == [DELETE_STAGING.encode()]


def test_a_request_people_denied_is_refused_with_their_note(gateway: Setup) -> None:
    token = gateway.issue("staging")
    _, first = _send(gateway, token, DELETE_STAGING)
    request_id = first["request"]["id"]  # type: ignore[index]
    approver = gateway.served.sign_in("carol")
    denied = gateway.served.vote(approver, request_id, "deny", note="not during the migration")
    assert denied.json()["state"] == "denied"
    status, answer = _send(gateway, token, DELETE_STAGING)
    assert status == 403, answer
    assert answer["error"]["code"] == "approval_denied"  # type: ignore[index]
    assert "not during the migration" in answer["error"]["message"]  # type: ignore[index]
    assert gateway.world.mutations() == []


def test_an_approval_belongs_to_the_session_that_asked(gateway: Setup) -> None:
    """Another agent session sending the same bytes does not use someone else's approval."""
    token = gateway.issue("staging")
    _, first = _send(gateway, token, DELETE_STAGING)
    request_id = first["request"]["id"]  # type: ignore[index]
    gateway.served.vote(gateway.served.sign_in("dave"), request_id)
    other = gateway.issue("staging", session="sess-other")
    status, answer = _send(gateway, other, DELETE_STAGING)
    assert status == 409, answer
    assert gateway.world.mutations() == []
