"""The server's vault checks: vault.stale and vault.no_drill once each, and GET /vault/sources.

A real server (uvicorn on 127.0.0.1) on SQLite and on PostgreSQL; the rows are written the way
the vault's jobs write them (vault/report.py), and the checks run at an injected time.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import sqlalchemy as sa

from interlock.secrets import Secret
from interlock.server import db, messages, vault_status
from interlock.server.settings import Channel
from interlock.vault.drills import DrillResult
from interlock.vault.report import Reporter
from tests.server.conftest import MakeServer, Served, together

HOUR = 3600.0
DAY = 86400.0


@pytest.fixture(params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, make_server: MakeServer) -> Served:
    if request.param == "sqlite":
        return make_server()
    url: str = request.getfixturevalue("fresh_pg_url")
    return make_server(database_url=url)


def _reporter(served: Served, at: float) -> Reporter:
    return Reporter(served.settings.database_url, clock=lambda: at)


def _backup(served: Served, source: str, at: float, rpo: float) -> None:
    with _reporter(served, at) as reporter:
        reporter.backup_ok(source, "postgres", f"{source}-{at:.0f}".ljust(64, "0"), at, 4096, rpo)


def _drill(served: Served, source: str, at: float, *, ok: bool = True) -> None:
    iso = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(at))
    result = DrillResult(
        source, "s" * 64, "postgres", ok, "" if ok else "object altered", 1.5, 60.0, iso, iso, 1
    )
    with _reporter(served, at) as reporter:
        reporter.drill(result, None)


def _vault_events(served: Served) -> list[tuple[str, dict[str, Any]]]:
    with served.service.engine.connect() as conn:
        rows = conn.execute(
            sa.select(db.events.c.kind, db.events.c.detail)
            .where(db.events.c.kind.like("vault.%"))
            .order_by(db.events.c.seq)
        ).all()
    return [(r.kind, json.loads(r.detail)) for r in rows]


def _kinds(raised: list[vault_status.Raised]) -> list[tuple[str, str]]:
    return [(r.kind, r.detail["source"]) for r in raised]


def test_stale_and_no_drill_are_raised_once_each_and_not_for_fresh_sources(
    served: Served,
) -> None:
    t0 = time.time()
    check = vault_status.check_and_alert
    _backup(served, "app", t0, HOUR)
    _drill(served, "app", t0)
    _backup(served, "fresh", t0, 7 * DAY)
    _drill(served, "fresh", t0)
    _backup(served, "undrilled", t0, 7 * DAY)  # backed up, never drilled
    assert check(served.state, t0) == []

    assert _kinds(check(served.state, t0 + HOUR + 1)) == [("vault.stale", "app")]
    assert check(served.state, t0 + HOUR + 60) == []  # once, not every minute

    _drill(served, "fresh", t0 + 26 * HOUR)  # the fresh source keeps being drilled
    raised = check(served.state, t0 + 26 * HOUR + 60)
    assert _kinds(raised) == [("vault.no_drill", "app"), ("vault.no_drill", "undrilled")]
    assert "ever passed" in raised[1].detail["summary"]
    assert check(served.state, t0 + 26 * HOUR + 120) == []

    # The scheduler comes back: a backup and a passed drill clear both, each said once.
    later = t0 + 27 * HOUR
    _backup(served, "app", later, HOUR)
    _drill(served, "app", later)
    raised = check(served.state, later + 60)
    assert _kinds(raised) == [("vault.recovered", "app"), ("vault.recovered", "app")]
    assert {r.detail["check"] for r in raised} == {"stale", "no_drill"}
    assert check(served.state, later + 120) == []

    events = _vault_events(served)
    assert [k for k, _ in events].count("vault.stale") == 1
    assert [k for k, _ in events].count("vault.no_drill") == 2
    assert all(d["source"] != "fresh" for _, d in events)
    stale = next(d for k, d in events if k == "vault.stale")
    assert stale["summary"].startswith(
        "vault: app newest backup is 60 min old, past its 60 min RPO"
    )
    audit = (served.data_dir / "audit.jsonl").read_text()
    assert audit.count('"event":"vault.stale"') == 1


def test_a_source_that_never_had_a_backup_is_stale_with_the_reason(served: Served) -> None:
    t0 = time.time()
    secret_url = "postgresql://app:s3cret-pass@db.internal/app"
    with _reporter(served, t0) as reporter:
        reporter.backup_failed("app", "postgres", f"cannot connect to {secret_url}", HOUR)
    # The server's own watch (it runs at start) may have raised it first: either way, one.
    vault_status.check_and_alert(served.state, t0 + 1)
    events = _vault_events(served)
    assert sorted(k for k, _ in events) == ["vault.backup_failed", "vault.stale"]
    summary = next(d for k, d in events if k == "vault.stale")["summary"]
    assert "has no good backup" in summary and "the last attempt failed" in summary
    assert "s3cret-pass" not in json.dumps(events)


def test_two_replicas_checking_at_once_page_once(served: Served) -> None:
    t0 = time.time()
    _backup(served, "app", t0, HOUR)
    other = db.connect(served.settings.database_url)
    try:
        results = together(
            [
                lambda: vault_status.check(served.service.engine, t0 + 2 * HOUR),
                lambda: vault_status.check(other, t0 + 2 * HOUR),
            ]
        )
    finally:
        other.dispose()
    assert sorted(len(r) for r in results) == [0, 1]
    assert [k for k, _ in _vault_events(served)] == ["vault.stale"]


def test_the_api_lists_sources_with_ages_for_approvers_only(served: Served) -> None:
    t0 = time.time()
    _backup(served, "app", t0 - 2 * HOUR, HOUR)  # already past its RPO
    _drill(served, "app", t0 - 2 * HOUR)
    _backup(served, "docs", t0 - 60, DAY)
    assert served.agent().get("/api/v1/vault/sources").status_code == 401
    answer = served.sign_in("alice").get("/api/v1/vault/sources")
    assert answer.status_code == 200, answer.text
    rows = {r["source"]: r for r in answer.json()["sources"]}
    assert list(rows) == ["app", "docs"]
    app = rows["app"]
    assert app["stale"] is True and app["drill_overdue"] is False
    assert 2 * HOUR - 5 < app["newest_backup_age_seconds"] < 2 * HOUR + 60
    assert app["last_drill_ok"] is True and app["last_rto_seconds"] == 1.5
    assert app["newest_backup_size"] == 4096 and app["target_rpo_seconds"] == HOUR
    assert rows["docs"]["stale"] is False and rows["docs"]["last_verified_age_seconds"] is None


def test_vault_alerts_notify_with_their_severities() -> None:
    channel = Channel(name="hook", type="webhook", url=Secret("https://hooks.example/x"))
    event = {"seq": 7, "at": 1.0, "detail": {"summary": "vault: app newest backup is 2 h old"}}
    body = json.loads(messages.build_alert(channel, "vault.stale", event, "http://s", 1).body)
    assert body["event"] == "alert.vault.stale" and body["alert"]["severity"] == "critical"
    for kind in ("vault.backup_failed", "vault.drill_failed", "vault.no_drill", "vault.stale"):
        assert messages.ALERTS[kind] in ("error", "critical")
    assert messages.ALERTS["vault.deletion_requested"] == "critical"


def test_a_job_reported_failure_and_a_stale_source_page_through_the_notifier(
    make_server: MakeServer,
) -> None:
    """The vault's job writes into the server's database from outside (vault/report.py); the
    server's notifier finds the event and pages, the password in the error masked."""
    from interlock.server.settings import Channel as NotifyChannel
    from tests.server.fakes import PagerDutyEvents

    pagerduty = PagerDutyEvents()
    try:
        served = make_server(
            notify=(
                NotifyChannel(
                    "pager",
                    "pagerduty",
                    Secret(pagerduty.url),
                    routing_key=Secret(pagerduty.routing_key),
                ),
            )
        )
        now = time.time()
        with Reporter(served.settings.database_url) as reporter:
            reporter.backup_ok("app", "postgres", "a" * 64, now - 3 * HOUR, 10, HOUR)
            reporter.backup_failed(
                "app", "postgres", "connect postgresql://u:pa55word-x@db/app failed", HOUR
            )
        vault_status.check_and_alert(served.state, now)
        got = pagerduty.wait_for(2, ok=True)
        events = {e.json()["payload"]["class"]: e.json() for e in got}
        assert set(events) == {"vault.backup_failed", "vault.stale"}
        assert events["vault.backup_failed"]["payload"]["severity"] == "error"
        assert events["vault.stale"]["payload"]["severity"] == "critical"
        assert "app" in events["vault.stale"]["payload"]["summary"]
        assert "pa55word-x" not in json.dumps([e.json() for e in got])
    finally:
        pagerduty.close()
