"""Every invariant in :mod:`interlock.server.approvals`'s docstring, on SQLite and PostgreSQL.

The service is driven directly (no HTTP) with an injected clock, so expiry is exact; the HTTP
layer's own rules are in test_api.py, two real replicas in test_replicas.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from interlock.actions import Action, action_from_json
from interlock.audit import AuditLog, verify
from interlock.config import load_policy
from interlock.errors import ApprovalError
from interlock.server import db
from interlock.server.approvals import ApprovalService
from tests.server.conftest import (
    FORCE_PUSH,
    PROD_DROP,
    PROJECT_TOML,
    Scratch,
    action_json,
    together,
)

START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return db.sqlite_url(tmp_path)
    scratch: Scratch = request.getfixturevalue("pg_scratch")
    return scratch.create()


@pytest.fixture
def engine(backend: str) -> Iterator[sa.Engine]:
    found = db.connect(backend)
    db.migrate(found)
    yield found
    found.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


Make = Callable[..., ApprovalService]


@pytest.fixture
def make(engine: sa.Engine, clock: Clock, tmp_path: Path, project: Path) -> Make:
    """``make(server_toml=None)``: a service whose own (server) policy is ``server_toml``."""

    def build(server_toml: str | None = None) -> ApprovalService:
        home = project
        if server_toml is not None:
            home = tmp_path / "server-home"
            (home / ".git").mkdir(parents=True, exist_ok=True)
            (home / "interlock.toml").write_text(server_toml)
        audit = AuditLog(tmp_path / "audit.jsonl")
        return ApprovalService(engine, load_policy(home), audit=audit, clock=clock)

    return build


@pytest.fixture
def svc(make: Make) -> ApprovalService:
    return make()


def shell(
    command: str, where: Path, *, env: str | None = None, session: str = "s-1", **kw: Any
) -> Action:
    return action_from_json(action_json(command, cwd=where, env=env, session=session, **kw))


def file(svc: ApprovalService, action: Action, **kw: Any) -> str:
    outcome = svc.submit(action, **kw)
    assert outcome.state == "pending", outcome
    assert outcome.request_id is not None
    return outcome.request_id


def approve(svc: ApprovalService, request_id: str, *who: str) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for name in who:
        binding = svc.get(request_id)["binding"]  # type: ignore[index]
        view = svc.vote(request_id, name, "approve", binding=binding)
    return view


def state(svc: ApprovalService, request_id: str) -> str:
    view = svc.get(request_id)
    assert view is not None
    found: str = view["state"]
    return found


def event_kinds(svc: ApprovalService, request_id: str) -> list[str]:
    return [e["kind"] for e in svc.events_since(0, 10_000) if e["request_id"] == request_id]


def audit_records(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- 1. binding ------------------------------------------------------------------------------


def test_the_same_action_waits_on_one_request(svc: ApprovalService, project: Path) -> None:
    first = file(svc, shell(PROD_DROP, project))
    assert file(svc, shell(PROD_DROP, project)) == first


def test_an_edited_command_is_a_new_request(svc: ApprovalService, project: Path) -> None:
    approved = file(svc, shell(PROD_DROP, project))
    approve(svc, approved, "alice", "bob")
    edited = shell(PROD_DROP.replace("users", "orders"), project)
    other = svc.submit(edited)
    assert other.state == "pending" and other.request_id != approved
    assert svc.submit(shell(PROD_DROP + " ", project)).state == "pending"
    assert svc.submit(shell(PROD_DROP, project)).request_id == approved  # still unused


def test_another_target_is_a_new_request(svc: ApprovalService, project: Path) -> None:
    approved = file(svc, shell(PROD_DROP, project))
    approve(svc, approved, "alice", "bob")
    other_host = shell(PROD_DROP.replace("db.prod", "db2.prod"), project)
    assert svc.submit(other_host).state == "pending"
    drop = "psql -c 'DROP TABLE users'"
    staging = file(svc, shell(drop, project, env="staging"))
    approve(svc, staging, "alice")
    production = svc.submit(shell(drop, project, env="production"))
    assert production.state == "pending" and production.request_id != staging


def test_another_session_is_a_new_request(svc: ApprovalService, project: Path) -> None:
    approved = file(svc, shell(PROD_DROP, project, session="s-1"))
    approve(svc, approved, "alice", "bob")
    other = svc.submit(shell(PROD_DROP, project, session="s-2"))
    assert other.state == "pending" and other.request_id != approved
    other_agent = svc.submit(shell(PROD_DROP, project, agent="codex"))
    assert other_agent.state == "pending" and other_agent.request_id != approved


def test_an_approval_is_bound_to_the_policy_revision(svc: ApprovalService, project: Path) -> None:
    approved = file(svc, shell(PROD_DROP, project))
    approve(svc, approved, "alice", "bob")
    (project / "interlock.toml").write_text(PROJECT_TOML + "\n# edited\n")
    assert svc.submit(shell(PROD_DROP, project)).state == "pending"


def test_a_vote_for_another_binding_is_refused(svc: ApprovalService, project: Path) -> None:
    shown = file(svc, shell(PROD_DROP, project))
    other = file(svc, shell(PROD_DROP.replace("users", "orders"), project))
    other_binding = svc.get(other)["binding"]  # type: ignore[index]
    with pytest.raises(ApprovalError, match="another action"):
        svc.vote(shown, "alice", "approve", binding=other_binding)
    assert svc.get(shown)["votes"] == []  # type: ignore[index]


# --- 2. states and transitions, audited ------------------------------------------------------


def test_every_transition_is_one_event_row_and_one_audit_record(
    svc: ApprovalService, project: Path, clock: Clock, tmp_path: Path
) -> None:
    used = file(svc, shell(PROD_DROP, project))
    approve(svc, used, "alice", "bob")
    assert svc.submit(shell(PROD_DROP, project)).state == "approved"
    denied = file(svc, shell(FORCE_PUSH, project))
    svc.vote(denied, "carol", "deny", binding=svc.get(denied)["binding"], note="no")  # type: ignore[index]
    cancelled = file(svc, shell(FORCE_PUSH + " --tags", project))
    svc.cancel(cancelled, "alice")
    unused = file(svc, shell(FORCE_PUSH, project, session="s-2"))
    approve(svc, unused, "alice")
    lapsed = file(svc, shell(PROD_DROP, project, session="s-3"))
    clock.advance(3601)
    svc.sweep()

    assert event_kinds(svc, used) == ["created", "approve", "approve", "approved", "consumed"]
    assert event_kinds(svc, denied) == ["created", "deny", "denied"]
    assert event_kinds(svc, cancelled) == ["created", "cancelled"]
    assert event_kinds(svc, unused) == ["created", "approve", "approved", "expired"]
    assert event_kinds(svc, lapsed) == ["created", "expired"]

    rows = [(e["kind"], e["request_id"]) for e in svc.events_since(0, 10_000)]
    records = [(r["event"], r["request_id"]) for r in audit_records(tmp_path)]
    assert records == rows
    created = next(r for r in audit_records(tmp_path) if r["request_id"] == used)
    assert created["detail"]["action"]["text"] == PROD_DROP
    assert created["detail"]["binding"] == svc.get(used)["binding"]  # type: ignore[index]
    report = verify(tmp_path / "audit.jsonl")
    assert report.ok, report.problems
    assert report.records == len(rows)


def test_a_refused_vote_leaves_no_event_and_no_audit_record(
    svc: ApprovalService, project: Path, tmp_path: Path
) -> None:
    request_id = file(svc, shell(PROD_DROP, project), requester="alice")
    before = (len(svc.events_since(0, 10_000)), len(audit_records(tmp_path)))
    refusals = [
        ("alice", "approve", svc.get(request_id)["binding"]),  # type: ignore[index]
        ("bob", "approve", "sha256:" + "0" * 64),
        ("bob", "maybe", svc.get(request_id)["binding"]),  # type: ignore[index]
    ]
    for who, vote, binding in refusals:
        with pytest.raises(ApprovalError):
            svc.vote(request_id, who, vote, binding=binding)
    assert (len(svc.events_since(0, 10_000)), len(audit_records(tmp_path))) == before


def test_nothing_decided_is_reopened(svc: ApprovalService, project: Path) -> None:
    request_id = file(svc, shell(FORCE_PUSH, project))
    binding = svc.get(request_id)["binding"]  # type: ignore[index]
    svc.vote(request_id, "alice", "deny", binding=binding)
    for who, vote in (("bob", "approve"), ("alice", "approve"), ("carol", "deny")):
        with pytest.raises(ApprovalError, match="already denied"):
            svc.vote(request_id, who, vote, binding=binding)
    with pytest.raises(ApprovalError, match="not pending"):
        svc.cancel(request_id, "bob")
    assert state(svc, request_id) == "denied"


# --- 3. expiry -------------------------------------------------------------------------------


def test_expiry_is_deny_and_never_reopens(
    svc: ApprovalService, project: Path, clock: Clock
) -> None:
    request_id = file(svc, shell(FORCE_PUSH, project))
    binding = svc.get(request_id)["binding"]  # type: ignore[index]
    clock.advance(3600)
    with pytest.raises(ApprovalError, match="expired"):
        svc.vote(request_id, "alice", "approve", binding=binding)
    assert state(svc, request_id) == "expired"
    assert svc.status(request_id)["expires_in"] == 0  # type: ignore[index]
    again = svc.submit(shell(FORCE_PUSH, project))
    assert again.state == "pending" and again.request_id != request_id
    clock.advance(-7200)  # even a clock going back does not reopen it
    with pytest.raises(ApprovalError, match="already expired"):
        svc.vote(request_id, "alice", "approve", binding=binding)


def test_a_request_is_pending_until_the_last_second(
    svc: ApprovalService, project: Path, clock: Clock
) -> None:
    request_id = file(svc, shell(FORCE_PUSH, project))
    clock.advance(3599)
    assert svc.sweep() == []
    assert approve(svc, request_id, "alice")["state"] == "approved"


def test_expire_comes_from_the_servers_approvals(make: Make, project: Path) -> None:
    svc = make("[approvals]\nexpire = 60\n")
    request_id = file(svc, shell(FORCE_PUSH, project))
    view = svc.get(request_id)
    assert view is not None
    assert view["expires_at"] - view["created_at"] == 60


def test_an_approval_not_used_within_use_within_expires(
    make: Make, project: Path, clock: Clock
) -> None:
    svc = make("[approvals]\nuse_within = 120\n")
    request_id = file(svc, shell(FORCE_PUSH, project))
    approve(svc, request_id, "alice")
    clock.advance(120)
    again = svc.submit(shell(FORCE_PUSH, project))
    assert again.state == "pending" and again.request_id != request_id
    assert state(svc, request_id) == "expired"
    assert event_kinds(svc, request_id)[-1] == "expired"


# --- 5. used once ----------------------------------------------------------------------------


def test_an_approval_is_used_exactly_once(svc: ApprovalService, project: Path) -> None:
    request_id = file(svc, shell(PROD_DROP, project))
    approve(svc, request_id, "alice", "bob")
    first = svc.submit(shell(PROD_DROP, project))
    assert (first.state, first.request_id, first.approvers) == (
        "approved",
        request_id,
        ("alice", "bob"),
    )
    second = svc.submit(shell(PROD_DROP, project))
    assert second.state == "pending" and second.request_id != request_id
    assert svc.get(request_id)["consumed"] is True  # type: ignore[index]


def test_concurrent_submissions_consume_one_approval_once(
    svc: ApprovalService, project: Path
) -> None:
    for _ in range(5):
        request_id = file(svc, shell(PROD_DROP, project))
        approve(svc, request_id, "alice", "bob")
        outcomes = together([lambda: svc.submit(shell(PROD_DROP, project)).state] * 6)
        assert Counter(outcomes) == {"approved": 1, "pending": 5}
        # the five losers wait on one new request, which the next round cancels
        pending = svc.requests("pending")
        assert len(pending) == 1
        svc.cancel(pending[0]["id"], "alice")


# --- 4. quorum and identity ------------------------------------------------------------------


def test_production_and_irreversible_needs_two_distinct_approvers(
    svc: ApprovalService, project: Path
) -> None:
    request_id = file(svc, shell(PROD_DROP, project))
    assert approve(svc, request_id, "alice")["state"] == "pending"
    with pytest.raises(ApprovalError, match="already voted"):
        approve(svc, request_id, "alice")
    assert state(svc, request_id) == "pending"
    view = approve(svc, request_id, "bob")
    assert (view["state"], view["quorum"], view["decided_by"]) == ("approved", 2, ["alice", "bob"])


def test_an_action_labelled_production_needs_two(svc: ApprovalService, project: Path) -> None:
    labelled = file(svc, shell("psql -c 'DROP TABLE users'", project, env="production"))
    assert svc.get(labelled)["quorum"] == 2  # type: ignore[index]
    staging = file(svc, shell("psql -c 'DROP TABLE users'", project, env="staging"))
    assert svc.get(staging)["quorum"] == 1  # type: ignore[index]


def test_outside_production_one_approver_is_enough(svc: ApprovalService, project: Path) -> None:
    request_id = file(svc, shell(FORCE_PUSH, project))
    assert approve(svc, request_id, "alice")["state"] == "approved"


def test_a_rule_sets_its_own_quorum(svc: ApprovalService, project: Path) -> None:
    (project / "interlock.toml").write_text(
        PROJECT_TOML.replace('decision = "ask"', 'decision = "ask"\nquorum = 3')
    )
    request_id = file(svc, shell(PROD_DROP, project))
    assert approve(svc, request_id, "alice", "bob")["state"] == "pending"
    view = approve(svc, request_id, "carol")
    assert (view["state"], view["quorum"]) == ("approved", 3)


def test_a_project_cannot_lower_the_servers_floor(make: Make, project: Path) -> None:
    svc = make("[approvals]\nquorum = 2\nproduction_quorum = 3\n")
    (project / "interlock.toml").write_text(
        PROJECT_TOML.replace('decision = "ask"', 'decision = "ask"\nquorum = 1')
        + "\n[approvals]\nquorum = 1\nproduction_quorum = 1\n"
    )
    assert svc.get(file(svc, shell(PROD_DROP, project)))["quorum"] == 3  # type: ignore[index]
    assert svc.get(file(svc, shell(FORCE_PUSH, project)))["quorum"] == 2  # type: ignore[index]


def test_a_project_can_raise_the_quorum(svc: ApprovalService, project: Path) -> None:
    (project / "interlock.toml").write_text(PROJECT_TOML + "\n[approvals]\nquorum = 2\n")
    assert svc.get(file(svc, shell(FORCE_PUSH, project)))["quorum"] == 2  # type: ignore[index]


def test_the_requester_cannot_approve_their_own_request(
    svc: ApprovalService, project: Path
) -> None:
    request_id = file(svc, shell(FORCE_PUSH, project), requester="alice")
    with pytest.raises(ApprovalError, match="requester"):
        approve(svc, request_id, "alice")
    assert approve(svc, request_id, "bob")["state"] == "approved"


def test_one_deny_denies(svc: ApprovalService, project: Path) -> None:
    request_id = file(svc, shell(PROD_DROP, project))
    approve(svc, request_id, "alice")
    binding = svc.get(request_id)["binding"]  # type: ignore[index]
    view = svc.vote(request_id, "bob", "deny", binding=binding, note="not today")
    assert (view["state"], view["denied_by"], view["decided_by"]) == ("denied", ["bob"], ["bob"])
    with pytest.raises(ApprovalError, match="already denied"):
        approve(svc, request_id, "carol")
    again = svc.submit(shell(PROD_DROP, project))
    assert (again.state, again.request_id) == ("denied", request_id), "a denial is not replayed"


def test_a_deny_from_the_policy_files_nothing(svc: ApprovalService, project: Path) -> None:
    outcome = svc.submit(shell("psql -h db.prod.internal -c 'TRUNCATE users'", project))
    assert (outcome.state, outcome.request_id) == ("denied", None)
    assert svc.requests() == []


# --- 6. the kill switch ----------------------------------------------------------------------


def test_the_kill_switch_denies_pending_voids_approvals_and_refuses_everything(
    svc: ApprovalService, project: Path
) -> None:
    waiting = file(svc, shell(PROD_DROP, project))
    approved = file(svc, shell(FORCE_PUSH, project))
    approve(svc, approved, "alice")
    assert svc.kill("alice", "runaway agent") == [waiting]
    assert state(svc, waiting) == "denied"
    assert state(svc, approved) == "expired"
    assert event_kinds(svc, approved)[-1] == "expired"
    assert svc.kill_state()["reason"] == "runaway agent"  # type: ignore[index]

    for action in (shell(FORCE_PUSH, project), shell("git push --force origin dev", project)):
        assert svc.submit(action).state == "killed"
    assert svc.requests("pending") == []

    svc.resume("bob")
    assert svc.kill_state() is None
    after = svc.submit(shell(FORCE_PUSH, project))
    assert after.state == "pending" and after.request_id not in (waiting, approved)


def test_a_kill_racing_submissions_leaves_nothing_pending(
    svc: ApprovalService, project: Path
) -> None:
    """Filing checked the switch before its transaction: a request filed just after a kill
    stayed pending while the switch was on. Now the check is inside, under the switch lock."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def agent(n: int) -> None:
        i = 0
        while not stop.is_set():
            try:
                svc.submit(shell(f"git push --force origin branch-{n}-{i}", project))
            except BaseException as exc:
                errors.append(exc)
            i += 1

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(5):
            threading.Event().wait(0.15)
            svc.kill("alice")
            threading.Event().wait(0.1)
            assert svc.requests("pending") == [], "a request was filed while the switch was on"
            svc.resume("alice")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors


def test_a_kill_waits_for_a_vote_in_flight_and_still_happens(
    fresh_pg_url: str, project: Path, tmp_path: Path
) -> None:
    """A vote deciding a request while `kill` waited for its row made the kill fail ("changed
    meanwhile") and roll back; the audit log already said "killed". Now the kill goes on.
    PostgreSQL only: SQLite serialises every write, so no vote is in flight during a kill."""
    engine = db.connect(fresh_pg_url)
    db.migrate(engine)
    audit = AuditLog(tmp_path / "audit.jsonl")
    svc = ApprovalService(engine, load_policy(project), audit=audit, clock=Clock())
    request_id = file(svc, shell(FORCE_PUSH, project))
    failures: list[BaseException] = []
    with engine.connect() as conn, conn.begin():
        db.lock_request(conn, request_id)  # a vote, in flight on another replica
        conn.execute(
            sa.update(db.requests)
            .where(db.requests.c.id == request_id)
            .values(state="approved", decided_at=START, use_by=START + 900, decided_by='["x"]')
        )
        killer = threading.Thread(target=lambda: _catch(failures, svc.kill, "alice"))
        killer.start()
        killer.join(0.5)
        assert killer.is_alive(), "the kill should wait for the row"
    killer.join(10)
    assert not failures, failures
    assert svc.kill_state() is not None
    assert state(svc, request_id) == "expired"  # voided: approved before the kill
    kinds = [r["event"] for r in audit_records(tmp_path)]
    assert kinds.count("killed") == 1
    engine.dispose()


def _catch(into: list[BaseException], func: Callable[..., Any], *args: Any) -> None:
    try:
        func(*args)
    except BaseException as exc:
        into.append(exc)


def test_on_sqlite_reading_does_not_wait_for_a_writer(tmp_path: Path, project: Path) -> None:
    """Every read took SQLite's write lock (BEGIN IMMEDIATE), so a status poll waited for any
    write in progress, up to the 30 s busy timeout. WAL readers need no lock: they do not wait."""
    engine = db.connect(db.sqlite_url(tmp_path))
    db.migrate(engine)
    svc = ApprovalService(engine, load_policy(project), clock=Clock())
    request_id = file(svc, shell(FORCE_PUSH, project))
    with db.transaction(engine) as writing:
        writing.execute(sa.update(db.switch).values(reason="a long write"))
        started = time.monotonic()
        answered = svc.status(request_id)
        waited = time.monotonic() - started
    assert answered is not None and answered["state"] == "pending"
    assert waited < 2, f"the read waited {waited:.1f} s for the writer"
    engine.dispose()


def test_a_denied_action_retried_is_denied_without_paging_anyone(
    svc: ApprovalService, project: Path, clock: Clock
) -> None:
    request_id = file(svc, shell(FORCE_PUSH, project))
    binding = svc.get(request_id)["binding"]  # type: ignore[index]
    svc.vote(request_id, "bob", "deny", binding=binding, note="use a branch")
    retried = svc.submit(shell(FORCE_PUSH, project))
    assert (retried.state, retried.request_id) == ("denied", request_id)
    assert "bob" in retried.message and "use a branch" in retried.message
    assert [r["id"] for r in svc.requests()] == [request_id], "a retry filed a new request"
    clock.advance(svc.policy.approvals.use_within + 1)
    assert svc.submit(shell(FORCE_PUSH, project)).state == "pending"


def test_the_servers_production_names_count_even_when_a_project_omits_them(
    make: Make, project: Path
) -> None:
    svc = make('[environments]\nproduction = ["production", "live", "prd"]\n')
    (project / "interlock.toml").write_text('[environments]\nproduction = ["production"]\n')
    request_id = file(svc, shell("psql -c 'DROP TABLE users'", project, env="prd"))
    view = svc.get(request_id)
    assert view is not None
    assert (view["production"], view["quorum"]) == (True, 2)
