"""The vault on the dashboard and the card (issue 7 item 6): per source, the newest backup against
its target RPO and the last verified restore; on the card, the sources protecting what the
action destroys, or "No backup of … is known to Interlock".

A real server (uvicorn on 127.0.0.1, its SQLite database in tmp_path) started from a real
interlock.toml with a ``[vault]`` section (``server.settings.load``); ``vault_sources`` rows are
inserted with SQLAlchemy as the vault's jobs would write them (vault/report.py); the service's
clock is frozen so every age on the page is exact. The last test drives Debian's Chromium
with Playwright (tests/server/browser.py); its screenshots land in test-artifacts/dashboard/
(``backups-panel``, ``card-backups``, ``card-no-backup-phone``).
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect, sync_playwright

from interlock.errors import InterlockError
from interlock.server import backups
from interlock.server import settings as server_settings
from interlock.server.db import connect, migrate, vault_sources
from interlock.server.predestroy import FAILED, SNAPSHOT
from interlock.vault.report import Reporter
from interlock.vault.settings import parse
from tests.server.browser import approver_page, launch, shot
from tests.server.conftest import PROJECT_TOML, MakeServer, Served, action_json

MIN, HOUR, DAY = 60.0, 3600.0, 86400.0

VAULT_TOML = """
[vault]
location = "vault"

[vault.sources.app]
postgres = "postgresql://127.0.0.1/app"
rpo = "1h"
protects = ["postgres:app", "railway:volume:vol-123"]

[vault.sources.billing-db]
postgres = "postgresql://127.0.0.1/billing"
rpo = "1h"
protects = ["postgres:billing"]

[vault.sources.uploads]
folder = "uploads"
rpo = "24h"

[vault.sources.audit]
sqlite = "audit.db"
rpo = "6h"

[[rules]]
id = "ask-for-database-changes"
operation = "db.*"
environment = "*"
decision = "ask"
reason = "a person decides on destroying data"

[[rules]]
id = "ask-for-volume-deletes"
operation = "cloud.*"
environment = "*"
decision = "ask"
reason = "a person decides on deleting volumes"
"""

SNAP_APP = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
SNAP_APP_VERIFIED = "0f9e8d7c6b5a49382716a5b4c3d2e1f00f9e8d7c6b5a49382716a5b4c3d2e1f0"
SNAP_BILLING = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"


def rows(now: float) -> list[dict[str, Any]]:
    """Four sources as the vault's jobs report them: fresh and verified, stale with a failed
    drill, backed up but never drilled, and (``uploads``) configured with no row at all."""
    return [
        {
            "source": "app",
            "kind": "postgres",
            "target_rpo_seconds": HOUR,
            "newest_snapshot": SNAP_APP,
            "newest_backup_at": now - 12 * MIN,
            "newest_backup_size": 1_534_000,
            "last_backup_attempt_at": now - 12 * MIN,
            "last_drill_at": now - 3 * HOUR,
            "last_drill_ok": True,
            "last_verified_at": now - 3 * HOUR,
            "last_verified_snapshot": SNAP_APP_VERIFIED,
            "last_rto_seconds": 4.25,
            "last_rpo_seconds": 15 * MIN,
            "updated_at": now - 12 * MIN,
        },
        {
            "source": "billing-db",
            "kind": "postgres",
            "target_rpo_seconds": HOUR,
            "newest_snapshot": SNAP_BILLING,
            "newest_backup_at": now - (3 * HOUR + 10 * MIN),
            "newest_backup_size": 2_300_000_000,
            "last_backup_attempt_at": now - 5 * MIN,
            "last_backup_error": "pg_dump: error: connection to server failed",
            "last_drill_at": now - 2 * HOUR,
            "last_drill_ok": False,
            "last_drill_error": "table invoices: 1041 rows restored, 1042 recorded at backup time",
            "last_verified_at": now - 2 * DAY - 4 * HOUR,
            "last_verified_snapshot": SNAP_BILLING,
            "last_rto_seconds": 95.0,
            "last_rpo_seconds": 40 * MIN,
            "updated_at": now - 5 * MIN,
        },
        {
            "source": "audit",
            "kind": "sqlite",
            "target_rpo_seconds": 6 * HOUR,
            "newest_snapshot": "c0ffee" * 10 + "c0ff",
            "newest_backup_at": now - 2 * HOUR,
            "newest_backup_size": 512,
            "last_backup_attempt_at": now - 2 * HOUR,
            "updated_at": now - 2 * HOUR,
        },
    ]


def insert(engine: sa.Engine, found: list[dict[str, Any]]) -> None:
    """The rows one by one: each has the columns its job wrote, the others are defaults."""
    with engine.begin() as conn:
        for row in found:
            conn.execute(sa.insert(vault_sources).values(**row))


def text_of(page: str, element_id: str) -> str:
    """The visible text of the element with ``id``, whitespace collapsed."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"', page)
    assert match, f"no element #{element_id} on the page"
    tag = match.group(1)
    start = match.start()
    depth, at = 0, start
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start:]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            at = start + found.end()
            break
    # Inline elements join their neighbours; blocks are separated by a space.
    inline = r"</?(?:time|code|span|strong|em|a)\b[^>]*>"
    inner = re.sub(r"<[^>]+>", " ", re.sub(inline, "", page[start:at]))
    return re.sub(r"\s+", " ", html.unescape(inner)).strip()


def source_text(section: str, name: str, following: list[str]) -> str:
    """The part of a section's text about one source (up to the next source's name)."""
    start = section.index(f"{name} ")
    ends = [section.index(f"{n} ", start + 1) for n in following if f"{n} " in section[start + 1 :]]
    return section[start : min(ends)] if ends else section[start:]


@pytest.fixture
def vault_project(project: Path) -> Path:
    (project / "interlock.toml").write_text(PROJECT_TOML + VAULT_TOML)
    return project


@pytest.fixture
def now() -> float:
    return float(int(time.time()))


@pytest.fixture
def vault_server(make_server: MakeServer, vault_project: Path, now: float) -> Served:
    loaded = server_settings.load(vault_project)
    served = make_server(project_dir=vault_project, vault=loaded.vault)
    insert(served.service.engine, rows(now))
    served.service.clock = lambda: now
    return served


# --- formatting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (12 * MIN + 59, "12 min"),
        (HOUR, "1 h"),
        (3 * HOUR + 10 * MIN, "3 h 10 min"),
        (47 * HOUR, "47 h"),
        (2 * DAY + 4 * HOUR, "2 d 4 h"),
        (30 * DAY, "30 d"),
        (None, "unknown"),
    ],
)
def test_ages_read_as_people_say_them(seconds: float | None, shown: str) -> None:
    assert backups.age(seconds) == shown


def test_sizes_and_rto() -> None:
    assert [backups.size(n) for n in (512, 1_534_000, 2_300_000_000, None)] == [
        "512 B",
        "1.5 MB",
        "2.3 GB",
        "unknown size",
    ]
    assert backups.seconds(4.25) == "4.2 s" and backups.seconds(95) == "1 min"


# --- the sources, as read -----------------------------------------------------------------------


def test_sources_read_the_rows_and_name_each_problem_in_words(tmp_path: Path, now: float) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'server.db'}")
    migrate(engine)
    insert(engine, rows(now))
    vault = parse(
        {
            "sources": {
                "app": {"postgres": "postgresql:///app", "protects": ["postgres:app"]},
                "uploads": {"folder": "/srv/uploads", "rpo": "24h"},
            }
        }
    )
    found = {v.source: v for v in backups.sources(engine, vault, now)}
    engine.dispose()

    # Problems first, then the healthy ones; a configured source with no row is listed too.
    assert list(found)[-1] == "app"
    assert set(found) == {"app", "billing-db", "audit", "uploads"}

    app = found["app"]
    assert app.ok and app.problems == ()
    assert app.rpo_met is True and app.newest_backup_age == 12 * MIN
    assert app.last_verified_age == 3 * HOUR and app.last_rto == 4.25
    assert app.protects == ("postgres:app",) and app.configured and app.reported

    billing = found["billing-db"]
    assert billing.rpo_met is False and not billing.configured
    assert billing.problems == (
        "STALE: the newest backup is 3 h 10 min old, over its 1 h target RPO.",
        "The last backup attempt failed: pg_dump: error: connection to server failed",
        "The last restore drill FAILED 2 h ago: "
        "table invoices: 1041 rows restored, 1042 recorded at backup time",
        "No verified restore in 26 h: the last was 2 d 4 h ago.",
    )

    audit = found["audit"]
    assert audit.rpo_met is True and audit.last_drill_ok is None
    assert audit.problems == ("Never verified: no restore of this source has been checked.",)

    uploads = found["uploads"]
    assert not uploads.reported and uploads.kind == "folder" and uploads.target_rpo == DAY
    assert uploads.rpo_met is False
    assert uploads.problems == (
        "No backup yet: nothing of this source can be restored.",
        "Never verified: no restore of this source has been checked.",
    )


def test_a_verified_restore_older_than_26_hours_is_a_problem_even_when_backups_are_fresh(
    tmp_path: Path, now: float
) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'server.db'}")
    migrate(engine)
    row = rows(now)[0] | {"last_verified_at": now - 26 * HOUR - 1}
    insert(engine, [row])
    (app,) = backups.sources(engine, parse({}), now)
    engine.dispose()
    assert app.rpo_met is True
    assert app.problems == ("No verified restore in 26 h: the last was 26 h ago.",)


def test_a_bad_vault_section_stops_the_server_from_starting(project: Path) -> None:
    (project / "interlock.toml").write_text(
        PROJECT_TOML + '\n[vault.sources.app]\npostgres = "postgresql:///app"\nrpo = "soon"\n'
    )
    with pytest.raises(InterlockError, match=r"vault\.sources\.app\.rpo must be a positive"):
        server_settings.load(project)


# --- the dashboard's Backups panel --------------------------------------------------------------


def test_the_backups_panel_shows_fresh_stale_never_drilled_and_failed_drills(
    vault_server: Served,
) -> None:
    page = vault_server.sign_in("alice").get("/")
    assert page.status_code == 200
    panel = text_of(page.text, "backups")
    assert panel.startswith("Backups 4 sources 3 with problems")
    names = ["app", "billing-db", "audit", "uploads"]

    app = source_text(panel, "app postgres", ["billing-db", "audit sqlite", "uploads"])
    assert "OK" in app and "PROBLEM" not in app
    assert "Newest backup 12 min ago, 1.5 MB, snapshot a1b2c3d4e5f6" in app
    assert "Target RPO 1 h: met" in app
    assert "Last verified restore 3 h ago: RTO 4.2 s, RPO 15 min, snapshot 0f9e8d7c6b5a" in app
    assert "Protects postgres:app, railway:volume:vol-123" in app

    billing = source_text(panel, "billing-db", names)
    assert "PROBLEM" in billing
    assert "Newest backup 3 h 10 min ago, 2.3 GB" in billing
    assert "Target RPO 1 h: NOT MET (stale)" in billing
    assert (
        "The last restore drill FAILED 2 h ago: table invoices: 1041 rows restored, 1042 "
        "recorded at backup time" in billing
    )
    assert "Last verified restore 2 d 4 h ago: RTO 1 min, RPO 40 min" in billing
    assert "STALE: the newest backup is 3 h 10 min old, over its 1 h target RPO." in billing

    audit = source_text(panel, "audit sqlite", names)
    assert "Newest backup 2 h ago, 512 B" in audit and "Target RPO 6 h: met" in audit
    assert "Last verified restore never verified" in audit
    assert "Never verified: no restore of this source has been checked." in audit

    uploads = source_text(panel, "uploads folder", names)
    assert "Newest backup no backup yet" in uploads and "Target RPO 24 h: NOT MET" in uploads
    assert "(stale)" not in uploads

    # Problems come first on the panel, the healthy source last.
    assert panel.index("app postgres OK") > panel.index("uploads folder PROBLEM")
    assert 'data-poll="60"' in page.text


def test_the_panel_follows_the_rows_and_the_clock(vault_server: Served, now: float) -> None:
    client = vault_server.sign_in("alice")
    with vault_server.service.engine.begin() as conn:
        conn.execute(
            sa.update(vault_sources)
            .where(vault_sources.c.source == "billing-db")
            .values(newest_backup_at=now - 30, last_backup_attempt_at=now - 30)
        )
    panel = text_of(client.get("/").text, "backups")
    billing = source_text(panel, "billing-db", ["app postgres", "audit sqlite", "uploads"])
    assert "Newest backup 30 s ago" in billing and "Target RPO 1 h: met" in billing
    assert "STALE" not in billing and "The last backup attempt failed" not in billing

    vault_server.service.clock = lambda: now + 2 * HOUR
    panel = text_of(client.get("/").text, "backups")
    app = source_text(panel, "app postgres", ["billing-db", "audit sqlite", "uploads"])
    assert "Newest backup 2 h 12 min ago" in app and "Target RPO 1 h: NOT MET (stale)" in app


def test_with_no_vault_and_no_rows_the_panel_says_so_and_how_to_set_one_up(
    server: Served,
) -> None:
    page = server.sign_in("alice").get("/")
    panel = text_of(page.text, "backups")
    assert panel == (
        "Backups 0 sources No vault is configured: Interlock knows of no backup. To set one up, "
        "add a [vault] section and a [vault.sources.<name>] per database or folder to "
        "interlock.toml, then run interlock vault schedule; see docs/vault.md, "
        "“On the dashboard and the card”."
    )


def test_a_secret_in_a_recorded_error_is_masked_on_the_page(server: Served, now: float) -> None:
    leaked = "pg_dump: error: connection to postgresql://backup:hunter2secret@db.internal/app"
    row = rows(now)[1] | {"last_backup_error": leaked, "last_drill_error": leaked}
    insert(server.service.engine, [row])
    page = server.sign_in("alice").get("/").text
    assert "hunter2secret" not in page
    assert "The last backup attempt failed: pg_dump: error: connection to " in page
    assert "postgresql://backup:****@db.internal/app" in page


def test_rows_without_a_vault_section_are_still_shown(server: Served, now: float) -> None:
    insert(server.service.engine, rows(now)[:1])
    server.service.clock = lambda: now
    panel = text_of(server.sign_in("alice").get("/").text, "backups")
    assert panel.startswith("Backups 1 source app postgres OK")
    assert "Protects" not in panel  # what it protects is the config's to say


# --- the card -----------------------------------------------------------------------------------


def card_section(served: Served, command: str, **kw: Any) -> str:
    request_id = served.file(action_json(command, cwd=served.project, **kw))
    page = served.sign_in("alice").get(f"/requests/{request_id}")
    assert page.status_code == 200
    return text_of(page.text, "backup-freshness")


def test_the_card_of_a_drop_on_a_protected_database_shows_its_backups(
    vault_server: Served,
) -> None:
    section = card_section(vault_server, "psql -h db.prod.internal -d app -c 'DROP TABLE users'")
    assert section == (
        "Backup freshness Backups of database app app postgres OK newest backup 12 min ago, "
        "1.5 MB, snapshot a1b2c3d4e5f6 · target RPO 1 h: met · last verified restore "
        "3 h ago: RTO 4.2 s, RPO 15 min, snapshot 0f9e8d7c6b5a"
    )


def test_the_card_of_a_volume_delete_matches_the_railway_volume(vault_server: Served) -> None:
    section = card_section(vault_server, "railway volume delete vol-123")
    assert section.startswith("Backup freshness Backups of volume vol-123 app postgres OK")
    assert "No backup" not in section and "Vault sources" not in section


def test_the_card_of_a_drop_on_an_unprotected_database_says_no_backup_is_known(
    vault_server: Served,
) -> None:
    section = card_section(
        vault_server, "psql -h db.prod.internal -d payroll -c 'DROP TABLE salaries'"
    )
    assert section.startswith(
        "Backup freshness No backup of database payroll is known to Interlock. "
        "No vault source lists it in protects. If this action runs, nothing Interlock "
        "knows of can bring the data back. Vault sources"
    )
    # The match may have missed a source protecting it under another name: all are listed.
    for name in ("app postgres OK", "billing-db postgres PROBLEM", "audit sqlite PROBLEM"):
        assert name in section
    assert "uploads folder PROBLEM newest backup no backup yet" in section


def test_the_card_of_a_stale_protected_database_shows_the_problem(vault_server: Served) -> None:
    section = card_section(
        vault_server, "psql postgresql://db.prod.internal/billing -c 'DROP DATABASE billing'"
    )
    assert section.startswith("Backup freshness Backups of database billing billing-db postgres")
    assert "target RPO 1 h: NOT MET (stale)" in section
    assert "The last restore drill FAILED 2 h ago" in section
    assert "Vault sources" not in section


def test_when_the_database_is_not_named_the_card_lists_every_source(vault_server: Served) -> None:
    section = card_section(vault_server, "psql -h db.prod.internal -c 'TRUNCATE invoices'")
    # Sources protect databases, and one of them may hold it: unsure, not "no backup".
    assert section.startswith(
        "Backup freshness Interlock cannot tell which database holds invoices, so it cannot say "
        "which backup would bring it back: every source of the vault is listed below. "
        "Vault sources Interlock cannot tell for sure"
    )
    assert "is known to Interlock" not in section
    assert section.count(" OK ") + section.count(" PROBLEM ") == 4


def test_a_table_in_an_unnamed_database_with_no_database_source_has_no_backup(
    make_server: MakeServer, project: Path, now: float
) -> None:
    (project / "interlock.toml").write_text(
        PROJECT_TOML
        + '\n[vault.sources.uploads]\nfolder = "uploads"\nprotects = ["folder:uploads"]\n'
    )
    served = make_server(vault=server_settings.load(project).vault)
    section = card_section(served, "psql -h db.prod.internal -c 'DROP TABLE users'")
    assert section.startswith(
        "Backup freshness No backup of the database holding users is known to Interlock. "
        "Interlock cannot tell which database this is, and no vault source protects any "
        "database. If this action runs, nothing Interlock knows of can bring the data back. "
        "Vault sources"
    )
    assert "uploads folder PROBLEM newest backup no backup yet" in section


def test_an_action_on_no_data_says_so(vault_server: Served) -> None:
    section = card_section(vault_server, "git push --force origin main")
    assert section == (
        "Backup freshness This action destroys no database or volume that Interlock can name."
    )


def test_the_card_without_a_vault_still_warns_of_an_unprotected_drop(server: Served) -> None:
    section = card_section(server, "psql -h db.prod.internal -d app -c 'DROP DATABASE app'")
    assert section == (
        "Backup freshness No backup of database app is known to Interlock. No vault source "
        "lists it in protects. If this action runs, nothing Interlock knows of can bring the "
        "data back. Vault sources No vault is configured: Interlock knows of no backup "
        "(docs/vault.md)."
    )


def test_the_card_shows_the_pre_destroy_snapshots_taken_and_failed(vault_server: Served) -> None:
    served = vault_server
    request_id = served.file(
        action_json("psql -h db.prod.internal -d app -c 'DROP TABLE users'", cwd=served.project)
    )
    # As server/predestroy.py records them on the request.
    failure = "approved action held: pre-destroy snapshot of app failed: disk full"
    served.service.note(request_id, FAILED, "claude-code", {"summary": failure})
    taken = {"source": "app", "snapshot": "5a" * 32, "size": 1_600_000, "seconds": 3.5}
    served.service.note(request_id, SNAPSHOT, "vault", {"snapshots": [taken], "seconds": 3.6})
    page = served.sign_in("alice").get(f"/requests/{request_id}")
    section = text_of(page.text, "backup-freshness")
    assert re.match(
        r"Backup freshness Pre-destroy snapshot FAILED \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: "
        + re.escape(failure)
        + r". The action did not run; the approval is kept. Pre-destroy snapshot taken "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, before the approved action was released: "
        r"app 5a5a5a5a5a5a \(1.6 MB\). Backups of database app",
        section,
    ), section


# --- matching, pure -----------------------------------------------------------------------------


def finding(operation: str, *targets: str) -> dict[str, Any]:
    return {"operation": operation, "targets": list(targets)}


@pytest.mark.parametrize(
    ("card", "labels", "unsure"),
    [
        ({"kind": "sql", "findings": [finding("db.drop_database", "app")]}, ["database app"], False),
        ({"kind": "http", "findings": [finding("cloud.delete_volume", "v1")]}, ["volume v1"], False),
        (
            {"kind": "shell", "detail": "psql --dbname=app -c 'DELETE FROM t'",
             "findings": [finding("db.delete_all_rows", "t")]},
            ["database app"],
            False,
        ),
        (
            {"kind": "shell", "detail": "psql 'dbname=app host=x' -c 'TRUNCATE t'",
             "findings": [finding("db.truncate", "t")]},
            ["database app"],
            False,
        ),
        (
            {"kind": "shell", "detail": "PGDATABASE=app psql -c 'DROP TABLE t'",
             "findings": [finding("db.drop_table", "t")]},
            ["database app"],
            False,
        ),
        (
            {"kind": "shell", "detail": "psql app -c 'DROP TABLE t'",
             "findings": [finding("db.drop_table", "t")]},
            ["database app"],
            False,
        ),
        (
            {"kind": "sql", "findings": [finding("db.drop_table", "users", "orders")]},
            ["the database holding users, orders"],
            True,
        ),
        ({"kind": "shell", "findings": [finding("shell.unparsed")]}, [], True),
        ({"kind": "shell", "findings": [finding("git.force_push", "main")]}, [], False),
        ({"kind": "shell", "findings": [finding("db.grant", "bob")]}, [], False),
    ],
)  # fmt: skip
def test_data_targets(card: dict[str, Any], labels: list[str], unsure: bool) -> None:
    targets, found_unsure = backups.data_targets(card)
    assert [t.label for t in targets] == labels
    assert found_unsure is unsure


def test_a_volume_is_matched_by_any_provider_prefix_and_case_insensitively() -> None:
    (target,), _ = backups.data_targets(
        {"kind": "http", "findings": [finding("cloud.delete_volume", "Vol-7")]}
    )
    assert target.matches(["railway:volume:vol-7"])
    assert target.matches(["fly:volume:VOL-7"])
    assert not target.matches(["railway:volume:vol-70", "postgres:vol-7"])


# --- in a real browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def test_the_panel_and_the_card_show_backups_and_their_problems(
    chromium: Browser, vault_server: Served, now: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every 2 s instead of every minute, so the poll is seen within the test.
    monkeypatch.setattr(backups, "POLL_SECONDS", 2)
    served = vault_server
    served.add_approver("alice")
    context, page = approver_page(chromium, served.url, "alice")
    panel = page.locator("#backups")
    expect(panel).to_be_visible()
    expect(panel.locator("h2")).to_have_text("Backups 4 sources 3 with problems")

    app = panel.locator('[data-source="app"]')
    expect(app.locator(".badge.vault-ok")).to_have_text("OK")
    expect(app.locator(".newest")).to_contain_text("12 min ago, 1.5 MB, snapshot a1b2c3d4e5f6")
    expect(app.locator(".rpo")).to_have_text("1 h: met")
    expect(app.locator(".verified")).to_have_text(
        "3 h ago: RTO 4.2 s, RPO 15 min, snapshot 0f9e8d7c6b5a"
    )

    billing = panel.locator('[data-source="billing-db"]')
    expect(billing.locator(".badge.vault-problem")).to_have_text("PROBLEM")
    expect(billing.locator(".rpo")).to_have_text("1 h: NOT MET (stale)")
    expect(billing.locator(".problems li").nth(2)).to_contain_text(
        "The last restore drill FAILED 2 h ago: table invoices"
    )
    expect(billing.locator(".problems li").first).to_have_text(
        "STALE: the newest backup is 3 h 10 min old, over its 1 h target RPO."
    )
    expect(panel.locator('[data-source="audit"] .verified')).to_have_text("never verified")
    expect(panel.locator('[data-source="uploads"] .newest')).to_have_text("no backup yet")
    shot(page, "backups-panel")

    # The panel is live. A good backup raises no event: the panel's own poll (data-poll) brings
    # it. A failed backup is an alert event: the event stream brings it at once.
    page.evaluate("window.notReloaded = true")
    with Reporter(served.settings.database_url, clock=lambda: now) as reporter:
        reporter.backup_ok("billing-db", "postgres", "9" * 64, now - 60, 2_400_000_000, HOUR)
        expect(billing.locator(".rpo")).to_have_text("1 h: met", timeout=6_000)
        expect(billing.locator(".newest")).to_contain_text("1 min ago, 2.4 GB, snapshot 999999")
        reporter.backup_failed("app", "postgres", "pg_dump: error: connection refused", HOUR)
    expect(app.locator(".badge.vault-problem")).to_have_text("PROBLEM", timeout=3_000)
    expect(app.locator(".problems")).to_have_text(
        "The last backup attempt failed: pg_dump: error: connection refused"
    )
    assert page.evaluate("window.notReloaded") is True, "the page reloaded instead of updating"

    # The card of a drop on a protected database: its source, fresh, verified.
    protected = served.file(
        action_json("psql -h db.prod.internal -d app -c 'DROP TABLE users'", cwd=served.project)
    )
    page.goto(f"/requests/{protected}")
    section = page.locator("#backup-freshness")
    expect(section).to_be_visible()
    expect(section.locator("h3")).to_have_text("Backups of database app")
    expect(section.locator('[data-source="app"] .facts')).to_have_text(
        "newest backup 12 min ago, 1.5 MB, snapshot a1b2c3d4e5f6 · target RPO 1 h: met · "
        "last verified restore 3 h ago: RTO 4.2 s, RPO 15 min, snapshot 0f9e8d7c6b5a"
    )
    expect(section.locator(".no-backup")).to_have_count(0)
    shot(page, "card-backups")
    context.close()

    # On a phone, a drop nothing protects: said plainly, above every source of the vault.
    context, page = approver_page(chromium, served.url, "alice", phone=True)
    unprotected = served.file(
        action_json(
            "psql -h db.prod.internal -d payroll -c 'DROP TABLE salaries'", cwd=served.project
        )
    )
    page.goto(f"/requests/{unprotected}")
    warning = page.locator("#backup-freshness .no-backup")
    expect(warning).to_be_visible()
    expect(warning.locator("strong")).to_have_text(
        "No backup of database payroll is known to Interlock."
    )
    expect(page.locator("#backup-freshness h3")).to_have_text("Vault sources")
    expect(page.locator("#backup-freshness .source")).to_have_count(4)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the card scrolls sideways on a phone ({width} px)"
    page.locator("#backup-freshness").scroll_into_view_if_needed()
    shot(page, "card-no-backup-phone")
    context.close()
