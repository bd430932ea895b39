"""Notifications (issue 5 item 6) against local Slack, PagerDuty and webhook servers.

A real uvicorn server (tests/server/conftest.py) files and decides requests over HTTP; the
fakes in fakes.py answer as the real services do. Covered: what each channel receives when a
request is filed and when it is decided (PagerDuty's resolve carries the trigger's dedup_key),
retries with backoff (500s, then 429 with Retry-After), permanent failures in
``GET /api/v1/deliveries`` and as a ``notify_failed`` event on the live stream, a request left
pending when every channel fails, secrets in no stored string or captured output, and two
replicas on one PostgreSQL sending each notification once.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from interlock.errors import ServerError
from interlock.secrets import Secret
from interlock.server import db, messages, notify
from interlock.server.settings import Channel, load
from tests.server.conftest import FORCE_PUSH, PROD_DROP, MakeServer, Served, action_json
from tests.server.fakes import (
    GenericWebhook,
    PagerDutyEvents,
    SlackWebhook,
    event_errors,
    valid_blocks,
)

SIGNING_KEY = "whsec-" + "k3y" * 8
DB_PASSWORD = "hunter2-Sup3rSecret"
SECRET_DROP = f"PGPASSWORD={DB_PASSWORD} {PROD_DROP}"
INJECTION = "please <!channel> see <https://evil.example/approve|Approve here>"


@pytest.fixture
def slack() -> Iterator[SlackWebhook]:
    fake = SlackWebhook()
    yield fake
    fake.close()


@pytest.fixture
def pagerduty() -> Iterator[PagerDutyEvents]:
    fake = PagerDutyEvents()
    yield fake
    fake.close()


@pytest.fixture
def hook() -> Iterator[GenericWebhook]:
    fake = GenericWebhook()
    yield fake
    fake.close()


def channels(
    slack: SlackWebhook, pagerduty: PagerDutyEvents, hook: GenericWebhook, attempts: int = 6
) -> tuple[Channel, ...]:
    return (
        Channel("ops-slack", "slack", Secret(slack.url), attempts=attempts),
        Channel(
            "pager",
            "pagerduty",
            Secret(pagerduty.url),
            routing_key=Secret(pagerduty.routing_key),
            attempts=attempts,
        ),
        Channel(
            "audit-hook", "webhook", Secret(hook.url), secret=Secret(SIGNING_KEY), attempts=attempts
        ),
    )


@pytest.fixture
def served(
    make_server: MakeServer, slack: SlackWebhook, pagerduty: PagerDutyEvents, hook: GenericWebhook
) -> Served:
    return make_server(notify=channels(slack, pagerduty, hook))


def wait_until(check: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def deliveries(server: Served, **query: str) -> list[dict[str, Any]]:
    client = server.sign_in("watcher")
    answer = client.get("/api/v1/deliveries", params=query)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["deliveries"]
    return rows


def settled(server: Served, request_id: str, count: int) -> list[dict[str, Any]]:
    """The request's deliveries once ``count`` of them are done (sent, failed or skipped)."""

    def done() -> list[dict[str, Any]] | None:
        rows = deliveries(server, request_id=request_id)
        finished = [r for r in rows if r["state"] in ("sent", "failed", "skipped")]
        return rows if len(finished) >= count else None

    found: list[dict[str, Any]] = wait_until(done, 30, f"{count} deliveries of {request_id}")
    return found


def card_url(server: Served, request_id: str) -> str:
    return f"{server.url}/requests/{request_id}"


# --- what each channel receives -------------------------------------------------------------


def test_a_filed_request_reaches_slack_pagerduty_and_the_webhook(
    served: Served, slack: SlackWebhook, pagerduty: PagerDutyEvents, hook: GenericWebhook
) -> None:
    request_id = served.file(action_json(SECRET_DROP, cwd=served.project), reason=INJECTION)
    url = card_url(served, request_id)

    message = slack.wait_for(1, ok=True)[0].json()
    blocks = json.dumps(message["blocks"])
    assert message["blocks"][0]["text"]["text"] == "🚨 PRODUCTION: approval needed"
    assert "[PRODUCTION]" in message["text"] and request_id in message["text"]
    button = message["blocks"][-1]["elements"][0]
    assert (button["url"], button["style"]) == (url, "danger")
    assert "db.drop_table on users" in blocks and "*PRODUCTION*" in blocks
    assert "PGPASSWORD=****" in blocks and DB_PASSWORD not in json.dumps(message)
    assert "claude-code" in blocks and "s-1" in blocks and "Time left" in blocks
    # The agent's reason cannot become a link or a mention in the message people act on.
    assert "&lt;!channel&gt;" in blocks and "<!channel>" not in blocks
    assert "<https://evil.example" not in blocks

    trigger = pagerduty.wait_for(1, ok=True)[0].json()
    assert trigger["routing_key"] == pagerduty.routing_key
    assert (trigger["event_action"], trigger["dedup_key"]) == ("trigger", request_id)
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"].startswith("[PRODUCTION] Approval needed: db.drop_table")
    assert trigger["payload"]["custom_details"]["card"] == url
    assert trigger["links"] == [{"href": url, "text": f"Approval card {request_id}"}]
    assert DB_PASSWORD not in json.dumps(trigger)

    received = hook.wait_for(1, ok=True)[0]
    payload = received.json()
    assert (payload["event"], payload["url"]) == ("request.created", url)
    assert payload["request"]["id"] == request_id and payload["request"]["state"] == "pending"
    assert payload["request"]["card"]["operations"] == ["db.drop_table"]
    assert "binding" not in payload["request"]
    stamp = received.headers["x-interlock-timestamp"]
    expected = hmac.new(
        SIGNING_KEY.encode(), stamp.encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    assert received.headers["x-interlock-signature"] == f"sha256={expected}"
    assert received.headers["x-interlock-delivery"] == str(payload["delivery"])

    page = served.sign_in("alice").get(url)  # the button opens the dashboard's card
    assert page.status_code == 200 and request_id in page.text

    rows = settled(served, request_id, 3)
    assert {(r["channel"], r["type"], r["state"], r["attempts"]) for r in rows} == {
        ("ops-slack", "slack", "sent", 1),
        ("pager", "pagerduty", "sent", 1),
        ("audit-hook", "webhook", "sent", 1),
    }


def test_a_decision_resolves_pagerduty_with_the_same_dedup_key_and_says_who(
    served: Served, slack: SlackWebhook, pagerduty: PagerDutyEvents, hook: GenericWebhook
) -> None:
    denied = served.file(action_json(PROD_DROP, cwd=served.project))
    approved = served.file(action_json(FORCE_PUSH, cwd=served.project))
    settled(served, denied, 3)
    settled(served, approved, 3)
    alice, bob = served.sign_in("alice"), served.sign_in("bob")
    assert served.vote(alice, denied, "deny", note="not <!here> today").status_code == 200
    assert served.vote(bob, approved).status_code == 200

    pagerduty.wait_for(4, ok=True)
    sent = pagerduty.events()
    assert [(e["event_action"], e["dedup_key"]) for e in sent[2:]] in (
        [("resolve", denied), ("resolve", approved)],
        [("resolve", approved), ("resolve", denied)],
    )
    severity = {e["dedup_key"]: e["payload"]["severity"] for e in sent[:2]}
    assert severity == {denied: "critical", approved: "warning"}

    slack.wait_for(4, ok=True)
    texts = [m["text"] for m in slack.messages()]
    assert f"⛔ Denied by alice: db.drop_table on users ({denied})" in texts
    assert f"✅ Approved by bob: git.force_push on main ({approved})" in texts
    follow_up = next(m for m in slack.messages() if m["text"].startswith("⛔"))
    assert card_url(served, denied) in json.dumps(follow_up)
    assert "not &lt;!here&gt; today" in json.dumps(follow_up)

    hook.wait_for(4, ok=True)
    by_event = {(p["event"], p["request"]["id"]): p for p in hook.payloads()}
    assert by_event[("request.denied", denied)]["request"]["decided_by"] == ["alice"]
    assert by_event[("request.approved", approved)]["request"]["state"] == "approved"


def test_expiry_and_the_kill_switch_resolve_too(
    served: Served, slack: SlackWebhook, pagerduty: PagerDutyEvents
) -> None:
    stale = served.file(action_json(FORCE_PUSH, cwd=served.project))
    settled(served, stale, 3)
    real = served.service.clock
    served.service.clock = lambda: real() + 7200  # the hour runs out; the sweep expires it
    wait_until(lambda: served.service.get(stale)["state"] == "expired", what="expiry")
    served.service.clock = real
    killed = served.file(action_json(PROD_DROP, cwd=served.project))
    settled(served, killed, 3)
    alice = served.sign_in("alice")
    assert alice.post("/api/v1/killswitch", json={"killed": True}).status_code == 200

    pagerduty.wait_for(4, ok=True)
    assert {(e["event_action"], e["dedup_key"]) for e in pagerduty.events()} >= {
        ("resolve", stale),
        ("resolve", killed),
    }
    slack.wait_for(4, ok=True)
    texts = [m["text"] for m in slack.messages()]
    assert any(t.startswith("⌛ Expired") and stale in t for t in texts)
    assert any(t.startswith("⛔ Denied by the kill switch") and killed in t for t in texts)


def test_a_huge_hostile_card_stays_within_slack_and_pagerduty_limits() -> None:
    """Block Kit refuses a message over its limits as a whole (invalid_blocks): nothing the
    agent controls may push one over."""
    finding = {
        "operation": "db.drop_table",
        "summary": "drops <!everyone> " * 300,
        "targets": [f"table_{i}`<@U1>`" for i in range(60)],
        "environment": "production",
        "reversible": False,
    }
    view = {
        "id": "req_0123456789abcdef",
        "state": "pending",
        "created_at": time.time(),
        "expires_at": time.time() + 3600,
        "expires_in": 3600.0,
        "quorum": 2,
        "production": True,
        "environment": "x" * 500,
        "requester": {"agent": "a" * 300, "session": "s" * 300, "user": None},
        "decided_by": ["alice"] * 200,
        "votes": [{"approver": "alice", "vote": "deny", "note": "<!here> " * 400}],
        "card": {
            "kind": "shell",
            "text": "psql -c 'DROP TABLE x'",
            "detail": "```" + "DROP TABLE x; " * 2000,
            "operations": ["db.drop_table"] * 50,
            "findings": [finding] * 20,
            "reversible": False,
            "agent_reason": "<https://evil.example|Approve> " * 500,
        },
    }
    url = "https://interlock.example.com/requests/req_0123456789abcdef"
    for message in (messages.slack_created(view, url), messages.slack_decided("denied", view, url)):
        assert valid_blocks(message["blocks"]), json.dumps(message)[:2000]
        text = json.dumps(message)
        assert "<!everyone>" not in text and "<!here>" not in text and "<@U1>" not in text
        assert "<https://evil" not in text
    for kind in ("created", "denied"):
        event = messages.pagerduty_event("k" * 32, kind, view, url, url)
        assert event_errors(event) == []


# --- retries and failures -------------------------------------------------------------------


def test_retries_back_off_after_500s_and_honour_retry_after(
    served: Served, slack: SlackWebhook, pagerduty: PagerDutyEvents
) -> None:
    slack.fail(2, 500)
    pagerduty.fail(1, 429, retry_after=3)
    request_id = served.file(action_json(FORCE_PUSH, cwd=served.project))

    tries = slack.wait_for(3)
    assert [t.status for t in tries] == [500, 500, 200]
    gaps = [b.at - a.at for a, b in itertools.pairwise(tries)]
    assert 0.9 <= gaps[0] < 2.5 and 1.9 <= gaps[1] < 4, gaps  # 1 s, then 2 s
    pages = pagerduty.wait_for(2)
    assert [p.status for p in pages] == [429, 202]
    assert pages[1].at - pages[0].at >= 2.9  # Retry-After: 3 wins over the 1 s backoff

    rows = {r["channel"]: r for r in settled(served, request_id, 3)}
    assert (rows["ops-slack"]["state"], rows["ops-slack"]["attempts"]) == ("sent", 3)
    assert rows["ops-slack"]["last_error"] == "HTTP 500: internal_error"
    assert (rows["pager"]["state"], rows["pager"]["attempts"]) == ("sent", 2)


def test_every_channel_failing_leaves_the_request_pending_and_is_visible(
    make_server: MakeServer,
    slack: SlackWebhook,
    pagerduty: PagerDutyEvents,
    hook: GenericWebhook,
) -> None:
    server = make_server(notify=channels(slack, pagerduty, hook, attempts=2))
    slack.fail(None, 404, body=lambda path: b"no_service")  # revoked: not worth a retry
    pagerduty.fail(None, 500)
    hook.fail(None, 503)
    watcher = server.sign_in("watcher")
    request_id = server.file(action_json(FORCE_PUSH, cwd=server.project))

    rows = {r["channel"]: r for r in settled(server, request_id, 3)}
    assert {c: (r["state"], r["attempts"]) for c, r in rows.items()} == {
        "ops-slack": ("failed", 1),
        "pager": ("failed", 2),
        "audit-hook": ("failed", 2),
    }
    assert rows["ops-slack"]["last_error"] == "HTTP 404: no_service"
    assert rows["audit-hook"]["last_error"].startswith("HTTP 503")
    failed = deliveries(server, state="failed")
    assert {r["channel"] for r in failed} == {"ops-slack", "pager", "audit-hook"}

    # Nothing was decided: the card, the agent's view and the agent's retry all say pending.
    assert watcher.get(f"/api/v1/requests/{request_id}").json()["state"] == "pending"
    agent = server.agent()
    assert agent.get(f"/api/v1/requests/{request_id}/status").json()["state"] == "pending"
    again = server.submit(action_json(FORCE_PUSH, cwd=server.project))
    assert (again.status_code, again.json()["state"], again.json()["id"]) == (
        201,
        "pending",
        request_id,
    )

    # The failures are on the dashboard's live stream, one event per channel.
    seen: list[dict[str, Any]] = []
    with watcher.stream("GET", "/api/v1/events", params={"since": "0"}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                item = json.loads(line[6:])
                if item["kind"] == "notify_failed":
                    seen.append(item)
            if len(seen) == 3:
                break
    assert {(e["request_id"], e["detail"]["channel"]) for e in seen} == {
        (request_id, "ops-slack"),
        (request_id, "pager"),
        (request_id, "audit-hook"),
    }
    assert all(e["actor"] == "notify" and e["detail"]["error"] for e in seen)
    audit = (server.data_dir / "audit.jsonl").read_text().splitlines()
    assert sum('"notify_failed"' in line for line in audit) == 3


def test_deliveries_need_an_approver(served: Served) -> None:
    answer = served.agent().get("/api/v1/deliveries")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"
    watcher = served.sign_in("watcher")
    assert watcher.get("/api/v1/deliveries", params={"state": "lost"}).status_code == 400
    assert watcher.get("/api/v1/deliveries", params={"limit": "0"}).status_code == 400
    assert "/api/v1/deliveries" in served.agent().get("/api/v1/openapi.json").json()["paths"]


def test_pagerduty_never_gets_the_resolve_before_its_trigger(
    served: Served, pagerduty: PagerDutyEvents
) -> None:
    bob = served.sign_in("bob")
    pagerduty.fail(1, 429, retry_after=4)
    request_id = served.file(action_json(FORCE_PUSH, cwd=served.project))
    pagerduty.wait_for(1)
    assert served.vote(bob, request_id, "deny").status_code == 200

    rows = {(r["channel"], r["event"]): r for r in settled(served, request_id, 6)}
    calls = pagerduty.wait_for(2)
    assert [(c.json()["event_action"], c.status) for c in calls] == [
        ("trigger", 429),
        ("resolve", 202),
    ]
    # Its retry came after the denial: nobody is paged for what is already decided.
    trigger = rows[("pager", "created")]
    assert (trigger["state"], trigger["last_error"]) == (
        "skipped",
        "not sent: the request was already denied",
    )
    assert rows[("pager", "denied")]["state"] == "sent"


# --- secrets --------------------------------------------------------------------------------


def test_no_secret_in_any_stored_string_or_captured_output(
    make_server: MakeServer,
    slack: SlackWebhook,
    pagerduty: PagerDutyEvents,
    hook: GenericWebhook,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    closed = "http://127.0.0.1:9/services/T0DEAD/B0DEAD/deadhooksecret0123456789"
    dead = Channel("dead", "slack", Secret(closed), attempts=2)
    server = make_server(notify=(*channels(slack, pagerduty, hook, attempts=2), dead))
    # Every kind of failure: the receiver echoing the URL it was called on, a 400 from
    # PagerDuty, a refused connection.
    hook.fail(
        None, 400, body=lambda path: f"no such hook: {path} ({path.rsplit('=', 1)[-1]})".encode()
    )
    slack.fail(1, 500)
    request_id = server.file(action_json(FORCE_PUSH, cwd=server.project))
    rows = settled(server, request_id, 4)
    assert {r["channel"]: r["state"] for r in rows} == {
        "ops-slack": "sent",
        "pager": "sent",
        "audit-hook": "failed",
        "dead": "failed",
    }
    errors = {r["channel"]: r["last_error"] for r in rows}
    assert errors["audit-hook"].startswith("HTTP 400: no such hook: ****")
    assert errors["dead"].startswith("ConnectError")

    secrets = [
        slack.url,
        slack.secret,
        pagerduty.routing_key,
        hook.url,
        hook.token,
        SIGNING_KEY,
        closed,
        "deadhooksecret0123456789",
    ]
    stored: list[str] = []
    engine = server.service.engine
    with engine.connect() as conn:
        for table in (db.deliveries, db.events, db.requests):
            stored += [repr(tuple(row)) for row in conn.execute(sa.select(table))]
    stored.append(json.dumps(deliveries(server)))
    stored.append((server.data_dir / "audit.jsonl").read_text())
    out, err = capfd.readouterr()
    stored += [out, err, caplog.text]
    stored += [repr(c) for c in server.settings.notify]
    for secret in secrets:
        for text in stored:
            assert secret not in text
    # httpx logged each request to a channel with the URL cut to its origin.
    assert f"HTTP Request: POST http://127.0.0.1:{slack.port}/****" in caplog.text


# --- two replicas ---------------------------------------------------------------------------


def test_two_replicas_on_one_postgresql_send_each_notification_once(
    make_server: MakeServer,
    fresh_pg_url: str,
    slack: SlackWebhook,
    pagerduty: PagerDutyEvents,
    hook: GenericWebhook,
) -> None:
    chans = channels(slack, pagerduty, hook)
    one = make_server(database_url=fresh_pg_url, notify=chans)
    two = make_server(database_url=fresh_pg_url, notify=chans)
    deciders = [one.sign_in("alice"), two.sign_in("bob")]
    ids = []
    for i in range(6):
        replica = (one, two)[i % 2]
        ids.append(replica.file(action_json(FORCE_PUSH, cwd=replica.project, session=f"s-{i}")))
    for fake in (slack, pagerduty, hook):
        fake.wait_for(6, ok=True)  # decided before it went out, a "filed" message is skipped
    for i, request_id in enumerate(ids):
        replica = (two, one)[i % 2]
        assert replica.vote(deciders[(i + 1) % 2], request_id, "deny").status_code == 200

    for fake in (slack, pagerduty, hook):
        fake.wait_for(12, ok=True, timeout=30)
    time.sleep(2)  # long enough for a duplicate to arrive, if there were one
    for fake in (slack, pagerduty, hook):
        assert len(fake.received) == 12, type(fake).__name__
    keys = sorted((e["event_action"], e["dedup_key"]) for e in pagerduty.events())
    assert keys == sorted([("trigger", i) for i in ids] + [("resolve", i) for i in ids])
    rows = deliveries(one)
    assert len(rows) == 36 and {(r["state"], r["attempts"]) for r in rows} == {("sent", 1)}


def test_concurrent_enqueue_and_claim_on_postgresql_never_double(fresh_pg_url: str) -> None:
    """Eight outboxes (as eight replicas would) race for the same events and rows."""
    engine = db.connect(fresh_pg_url)
    db.migrate(engine)
    now = time.time()
    with engine.begin() as conn:
        for i in range(40):
            conn.execute(
                db.events.insert().values(
                    at=now, kind="created", request_id=f"req_{i}", actor="t", detail="{}"
                )
            )
    chans = (
        Channel("a", "webhook", Secret("http://127.0.0.1:9/a")),
        Channel("b", "webhook", Secret("http://127.0.0.1:9/b")),
    )
    boxes = [notify.Outbox(engine, chans, time.time) for _ in range(8)]
    barrier = threading.Barrier(len(boxes))
    claimed: list[list[notify.Delivery]] = [[] for _ in boxes]

    def race(index: int) -> None:
        barrier.wait()
        boxes[index].enqueue()
        barrier.wait()
        for _ in range(10):
            claimed[index].extend(boxes[index].claim())

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(boxes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.deliveries)).all()
    assert len(rows) == 80  # one per event and channel, though eight enqueued
    ids = [d.id for box in claimed for d in box]
    assert sorted(ids) == sorted(r.id for r in rows)  # each claimed once, by one outbox
    engine.dispose()


# --- configuration --------------------------------------------------------------------------


def write_toml(root: Path, text: str) -> Path:
    (root / ".git").mkdir(parents=True, exist_ok=True)
    (root / "interlock.toml").write_text(text)
    return root


def test_channels_are_configured_in_server_notify(tmp_path: Path) -> None:
    key = "a" * 32
    root = write_toml(
        tmp_path,
        f"""
[server]
public_url = "https://interlock.example.com"

[[server.notify]]
type = "slack"
url = "https://hooks.slack.com/services/T1/B2/abcdef"

[[server.notify]]
type = "pagerduty"
routing_key = "{key}"
attempts = 10

[[server.notify]]
type = "webhook"
name = "siem"
url = "https://siem.example.com/in"
secret = "s3cret-signing-key"
""",
    )
    found = load(root).notify
    assert [(c.name, c.type, c.attempts) for c in found] == [
        ("slack-0", "slack", 6),
        ("pagerduty-1", "pagerduty", 10),
        ("siem", "webhook", 6),
    ]
    assert found[1].url.reveal() == "https://events.pagerduty.com/v2/enqueue"
    assert found[2].secret is not None and found[2].secret.reveal() == "s3cret-signing-key"
    assert "s3cret" not in repr(found) and "abcdef" not in repr(found) and key not in repr(found)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('type = "pagerduty"\nrouting_key = "short"', "32-character"),
        ('type = "slack"\nurl = "https://x.example"\nsecret = "s"', 'for type = "webhook" only'),
        ('type = "webhook"\nurl = "https://x.example"\nattempts = 0', "attempts"),
        ('type = "webhook"\nurl = "https://x.example"\nretries = 3', "unknown key"),
        ('type = "webhook"\nurl = "ftp://x.example"', "http(s) URL"),
    ],
)
def test_a_wrong_channel_is_refused_at_start(tmp_path: Path, table: str, message: str) -> None:
    root = write_toml(tmp_path, f"[[server.notify]]\n{table}\n")
    with pytest.raises(ServerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(root)


def test_two_channels_cannot_share_a_name(tmp_path: Path) -> None:
    hook = '[[server.notify]]\ntype = "webhook"\nname = "x"\nurl = "https://x.example"\n'
    root = write_toml(tmp_path, hook + hook)
    with pytest.raises(ServerError, match="used twice: x"):
        load(root)


def test_backoff_doubles_up_to_five_minutes() -> None:
    assert [notify.backoff(n) for n in (1, 2, 3, 4, 10, 20)] == [1, 2, 4, 8, 300, 300]
