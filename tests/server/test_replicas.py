"""Two real `interlock serve` processes sharing one PostgreSQL behave as one (issue 5, item 1).

Each replica has its own data folder (its audit log, its KILLED mirror) and shares nothing else:
a request is filed, voted on, decided and consumed once, whichever replica each call reaches.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from interlock.server import db
from interlock.server.accounts import Accounts
from tests.server.conftest import (
    FORCE_PUSH,
    PASSWORD,
    PROD_DROP,
    PROJECT_TOML,
    Scratch,
    ServeProcess,
    action_json,
    together,
)


@dataclass
class Pair:
    a: ServeProcess
    b: ServeProcess
    engine: sa.Engine
    project: Path

    def sign_in(self, replica: ServeProcess, name: str) -> httpx.Client:
        client = httpx.Client(base_url=replica.url, timeout=30)
        answer = client.post("/api/v1/session", json={"username": name, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf"]
        return client

    def action(self, command: str) -> dict[str, Any]:
        return action_json(command, cwd=self.project)

    def submit(self, replica: ServeProcess, command: str) -> dict[str, Any]:
        answer = replica.client.post("/api/v1/requests", json={"action": self.action(command)})
        assert answer.status_code in (200, 201), answer.text
        found: dict[str, Any] = answer.json()
        return found

    def events(self, request_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(db.events.c.kind)
                    .where(db.events.c.request_id == request_id)
                    .order_by(db.events.c.seq)
                ).scalars()
            )


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, pg_scratch: Scratch) -> Iterator[Pair]:
    url = pg_scratch.create()
    root = tmp_path_factory.mktemp("replicas")
    project = root / "project"
    (project / ".git").mkdir(parents=True)
    (project / "interlock.toml").write_text(PROJECT_TOML)
    engine = db.connect(url)
    db.migrate(engine)
    accounts = Accounts(engine)
    for name in ("alice", "bob", "carol"):
        accounts.add(name, PASSWORD)
    a = ServeProcess(project, root / "d1", url)
    try:
        b = ServeProcess(project, root / "d2", url)
    except BaseException:
        a.stop()
        raise
    try:
        yield Pair(a, b, engine, project)
    finally:
        a.stop()
        b.stop()
        engine.dispose()


def card_binding(client: httpx.Client, request_id: str) -> str:
    binding: str = client.get(f"/api/v1/requests/{request_id}").json()["binding"]
    return binding


def vote(client: httpx.Client, request_id: str, binding: str, choice: str = "approve") -> int:
    answer = client.post(
        f"/api/v1/requests/{request_id}/votes", json={"vote": choice, "binding": binding}
    )
    return answer.status_code


def test_a_request_filed_on_one_replica_is_on_the_other(pair: Pair) -> None:
    filed = pair.submit(pair.a, "git push --force origin replica-1")
    assert filed["state"] == "pending"
    on_b = pair.sign_in(pair.b, "alice")
    listed = on_b.get("/api/v1/requests", params={"state": "pending"}).json()["requests"]
    assert filed["id"] in [r["id"] for r in listed]
    assert pair.b.client.get(f"/api/v1/requests/{filed['id']}/status").json()["state"] == "pending"
    again = pair.submit(pair.b, "git push --force origin replica-1")
    assert again["id"] == filed["id"], "the same action filed on B waits on A's request"


def test_a_session_opened_on_one_replica_works_on_the_other(pair: Pair) -> None:
    on_a = pair.sign_in(pair.a, "carol")
    on_b = httpx.Client(base_url=pair.b.url, cookies=on_a.cookies, headers=on_a.headers)
    assert on_b.get("/api/v1/session").json()["username"] == "carol"


def test_two_approvers_voting_at_once_on_both_replicas_approve_exactly_once(pair: Pair) -> None:
    alice, bob = pair.sign_in(pair.a, "alice"), pair.sign_in(pair.b, "bob")
    for round_ in range(8):
        two = pair.submit(pair.a, PROD_DROP.replace("users", f"users_{round_}"))["id"]
        one = pair.submit(pair.b, f"git push --force origin votes-{round_}")["id"]
        bindings = {rid: card_binding(alice, rid) for rid in (two, one)}
        statuses = together(
            [
                partial(vote, alice, two, bindings[two]),
                partial(vote, bob, two, bindings[two]),
                partial(vote, alice, one, bindings[one]),
                partial(vote, bob, one, bindings[one]),
            ]
        )
        assert statuses[:2] == [200, 200], "quorum 2: both votes count"
        assert sorted(statuses[2:]) == [200, 409], "quorum 1: the second vote finds it decided"
        for rid in (two, one):
            assert pair.events(rid).count("approved") == 1, pair.events(rid)
            state = pair.b.client.get(f"/api/v1/requests/{rid}/status").json()["state"]
            assert state == "approved"


def test_the_same_action_submitted_to_both_replicas_at_once_passes_once(pair: Pair) -> None:
    alice = pair.sign_in(pair.a, "alice")
    for round_ in range(10):
        command = f"git push --force origin consume-{round_}"
        request_id = pair.submit(pair.b, command)["id"]
        assert vote(alice, request_id, card_binding(alice, request_id)) == 200
        outcomes = together([partial(pair.submit, r, command) for r in (pair.a, pair.b) * 3])
        states = Counter(o["state"] for o in outcomes)
        assert states == {"approved": 1, "pending": 5}, states
        assert [o["id"] for o in outcomes if o["state"] == "approved"] == [request_id]
        assert pair.events(request_id).count("consumed") == 1
        assert len({o["id"] for o in outcomes if o["state"] == "pending"}) == 1


def test_a_vote_on_one_replica_for_a_request_decided_on_the_other_is_refused(pair: Pair) -> None:
    alice, bob = pair.sign_in(pair.a, "alice"), pair.sign_in(pair.b, "bob")
    approved = pair.submit(pair.a, "git push --force origin decided-1")["id"]
    denied = pair.submit(pair.a, "git push --force origin decided-2")["id"]
    assert vote(alice, approved, card_binding(alice, approved)) == 200
    assert vote(alice, denied, card_binding(alice, denied), "deny") == 200
    for rid, state in ((approved, "approved"), (denied, "denied")):
        answer = bob.post(
            f"/api/v1/requests/{rid}/votes",
            json={"vote": "approve", "binding": card_binding(bob, rid)},
        )
        assert answer.status_code == 409
        assert f"already {state}" in answer.json()["error"]["message"]


def test_the_kill_switch_set_on_one_replica_holds_on_the_other(pair: Pair) -> None:
    waiting = pair.submit(pair.b, FORCE_PUSH)["id"]
    alice = pair.sign_in(pair.a, "alice")
    killed_file = pair.b.data_dir / "KILLED"
    assert not killed_file.exists()
    started = time.monotonic()
    assert (
        alice.post("/api/v1/killswitch", json={"killed": True, "reason": "drill"}).status_code
        == 200
    )
    try:
        assert pair.submit(pair.b, "git push --force origin after-kill")["state"] == "killed"
        status = pair.b.client.get(f"/api/v1/requests/{waiting}/status").json()
        assert status["state"] == "denied"
        while not killed_file.exists() and time.monotonic() - started < 5:
            time.sleep(0.05)
        mirrored = time.monotonic() - started
        assert killed_file.exists() and mirrored < 2.5, f"B mirrored KILLED after {mirrored:.2f} s"
        assert pair.b.client.get("/api/v1/killswitch").json()["reason"] == "drill"
    finally:
        assert alice.post("/api/v1/killswitch", json={"killed": False}).status_code == 200
    started = time.monotonic()
    while killed_file.exists() and time.monotonic() - started < 5:
        time.sleep(0.05)
    assert not killed_file.exists(), "B kept KILLED after the switch was turned off on A"
    assert pair.submit(pair.b, "git push --force origin after-resume")["state"] == "pending"
