"""The dashboard in a real browser (issue 5 item 8): Chromium, driven by Playwright, against a
real uvicorn server; agents file requests over HTTP exactly as a hook does.

Flows: sign in and out; a request appears live without a reload; approve (quorum 1) and the
agent's retry passes once and only once; a production drop needs two distinct approvers
("1 of 2" in between, seen live by the other one); the requester's own approval is refused on
the card; deny; expiry (``[approvals] expire = 10``: the card turns expired and loses its
buttons); the kill switch on (pending denied, banner everywhere) and resume.
Screenshots land in test-artifacts/dashboard/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from interlock import killswitch
from tests.server.browser import ARTIFACTS, approver_page, launch, shot
from tests.server.conftest import PASSWORD, PROD_DROP, PROJECT_TOML, MakeServer, Served, action_json

STAGING_DROP = "psql -h db.staging.internal -c 'DROP TABLE sessions_old'"
"""``ask`` in staging, cannot be undone but not production: one approver."""

Open = Callable[..., Page]


@pytest.fixture(scope="module")
def chromium(request: pytest.FixtureRequest) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\ndashboard screenshots: {ARTIFACTS}")


@pytest.fixture
def open_as(chromium: Browser, server: Served) -> Iterator[Open]:
    """``open_as("alice", phone=True)``: a signed-in page in a browser context of alice's own."""
    contexts: list[BrowserContext] = []

    def open_page(name: str, *, phone: bool = False, on: Served | None = None) -> Page:
        target = on or server
        if name not in target.accounts.names():
            target.add_approver(name)
        context, page = approver_page(chromium, target.url, name, phone=phone)
        contexts.append(context)
        return page

    yield open_page
    for context in contexts:
        context.close()


def card_of(page: Page, request_id: str) -> Page:
    page.goto(f"/requests/{request_id}")
    expect(page.locator("article.card")).to_have_attribute("data-request", request_id)
    return page


def state_badge(page: Page) -> str:
    return page.locator("#card-head .badge.state").inner_text()


def test_sign_in_refuses_a_wrong_password_then_signs_in_and_out(
    chromium: Browser, server: Served
) -> None:
    server.add_approver("alice")
    context = chromium.new_context(base_url=server.url)
    page = context.new_page()
    page.goto("/requests/req_0000")
    expect(page).to_have_url(f"{server.url}/sign-in?next=/requests/req_0000")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "not her password at all")
    page.click("button:has-text('Sign in')")
    expect(page.locator(".alert.refused")).to_have_text("Wrong name or password.")
    assert not any(c["name"] == "interlock_session" for c in context.cookies())
    # Without the form's own token (another site posting it), even the right password fails.
    forged = server.agent().post("/sign-in", data={"username": "alice", "password": PASSWORD})
    assert forged.status_code == 403 and "interlock_session" not in forged.cookies

    context.close()
    context, page = approver_page(chromium, server.url, "alice")
    cookie = next(c for c in context.cookies() if c["name"] == "interlock_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    expect(page.locator("h1")).to_contain_text("Waiting for a decision")
    page.click("button:has-text('Sign out')")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.goto("/")
    expect(page).to_have_url(f"{server.url}/sign-in?next=/")
    context.close()


def test_a_filed_request_appears_live_is_approved_and_the_retry_passes_once(
    server: Served, open_as: Open
) -> None:
    page = open_as("alice")
    expect(page.locator(".empty").first).to_contain_text("Nothing is waiting")
    page.evaluate("window.notReloaded = true")

    action = action_json(STAGING_DROP, cwd=server.project, session="sess-7")
    reason = "sessions_old was replaced by sessions in migration 42"
    request_id = server.file(action, reason=reason)

    tile = page.locator(f'#pending [data-request="{request_id}"]')
    expect(tile).to_be_visible()
    assert page.evaluate("window.notReloaded") is True, "the list reloaded instead of updating"
    expect(tile.locator(".quorum")).to_have_text("0 of 1")
    shot(page, "dashboard-pending")

    tile.click()
    expect(page).to_have_url(re.compile(f"/requests/{request_id}$"))
    expect(page.locator("#card-head h1")).to_have_text("db.drop_table")
    expect(page.locator("#card-head .badge.env")).to_have_text("staging")
    expect(page.locator(".badge.production")).to_have_count(0)
    expect(page.locator("#card-head .undo")).to_have_text("Cannot be undone")
    expect(page.locator(".targets code")).to_have_text("sessions_old")
    expect(page.locator("pre#detail")).to_have_text(STAGING_DROP)
    expect(page.locator("#asker dd").first).to_have_text("claude-code")
    expect(page.locator("#asker")).to_contain_text("sess-7")
    expect(page.locator("blockquote.reason")).to_have_text(reason)
    expect(page.locator("#card-status .quorum")).to_have_text("0 of 1")
    expect(page.locator("#backup-freshness")).to_contain_text(
        "No backup of the database holding sessions_old is known to Interlock"
    )
    countdown = page.locator("#card-status .countdown")
    expect(countdown).to_have_text(re.compile(r"^59:\d\d left$"))
    before = countdown.inner_text()
    expect(countdown).not_to_have_text(before, timeout=2_500)  # it counts down
    shot(page, "card-staging")

    page.fill("textarea[name=note]", "checked the migration")
    page.click("button.approve")
    expect(page.locator(".alert.ok")).to_have_text("Your approval is recorded.")
    expect(page.locator("#card-head .badge.state")).to_have_text("approved")
    expect(page.locator(".vote-form")).to_have_count(0)
    expect(page.locator(".votes")).to_contain_text("alice approved")
    expect(page.locator(".votes")).to_contain_text("checked the migration")

    first = server.submit(action, reason=reason).json()
    assert (first["state"], first["id"]) == ("approved", request_id)
    expect(page.locator("#card-head .badge.state")).to_have_text("approved · used")  # live
    second = server.submit(action, reason=reason)
    assert second.status_code == 201
    assert second.json()["state"] == "pending" and second.json()["id"] != request_id

    page.goto("/")
    expect(page.locator(f'#history [data-request="{request_id}"]')).to_contain_text("approved")
    expect(page.locator(f'#pending [data-request="{second.json()["id"]}"]')).to_be_visible()


def test_production_drop_needs_two_distinct_approvers_seen_live_by_both(
    server: Served, open_as: Open
) -> None:
    alice = open_as("alice", phone=True)
    bob = open_as("bob")
    answer = server.submit(action_json(PROD_DROP, cwd=server.project), reason="reset the demo")
    request_id = answer.json()["id"]

    tile = alice.locator(f'#pending [data-request="{request_id}"]')
    expect(tile.locator(".badge.production")).to_have_text("PRODUCTION")
    red = tile.locator(".badge.production").evaluate("e => getComputedStyle(e).backgroundColor")
    assert red == "rgb(200, 30, 30)"
    expect(tile.locator(".quorum")).to_have_text("0 of 2")
    shot(alice, "dashboard-production-phone")

    bob.goto(answer.json()["url"].removeprefix(server.url))  # the link notifications carry
    expect(bob.locator("#card-status .quorum")).to_have_text("0 of 2")

    tile.click()
    expect(alice.locator("#card-head .badge.production")).to_have_text("PRODUCTION")
    expect(alice.locator(".targets .badge.production")).to_have_text("PRODUCTION")
    fits = alice.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "the card scrolls sideways on a phone"
    shot(alice, "card-production-phone")

    alice.click("button.approve")
    expect(alice.locator("#card-status .quorum")).to_have_text("1 of 2")
    assert state_badge(alice) == "pending"
    expect(alice.locator("#card-actions")).to_contain_text("Waiting for 1 more approver")
    expect(bob.locator("#card-status .quorum")).to_have_text("1 of 2")  # live, no reload
    assert server.submit(action_json(PROD_DROP, cwd=server.project)).json()["state"] == "pending"

    bob.fill("textarea[name=note]", "second pair of eyes")
    bob.click("button.approve")
    expect(bob.locator("#card-head .badge.state")).to_have_text("approved")
    expect(alice.locator("#card-head .badge.state")).to_have_text("approved")  # live
    expect(alice.locator("#card-status .quorum")).to_have_text("2 of 2")
    status = server.agent().get(f"/api/v1/requests/{request_id}/status").json()
    assert status["state"] == "approved" and status["approved_by"] == ["alice", "bob"]


def test_the_card_shows_the_servers_refusals_requester_changed_binding_forged_csrf(
    server: Served, open_as: Open
) -> None:
    request_id = server.file(
        action_json(STAGING_DROP, cwd=server.project), reason="mine", requester="carol"
    )
    page = card_of(open_as("carol"), request_id)
    expect(page.locator("#asker")).to_contain_text("carol (you)")
    page.click("button.approve")
    expect(page.locator(".alert.refused")).to_contain_text(
        "the requester cannot approve their own request"
    )
    assert state_badge(page) == "pending"

    page = card_of(open_as("alice"), request_id)
    page.locator("input[name=binding]").evaluate("e => e.value = 'sha256:' + '0'.repeat(64)")
    page.click("button.approve")
    expect(page.locator(".alert.refused")).to_contain_text(
        "this vote is for another action than the one on the card"
    )
    page.locator(".vote-form input[name=csrf]").evaluate("e => e.value = 'forged'")
    page.click("button.approve")
    expect(page.locator(".alert.refused")).to_have_text("missing or wrong CSRF token")
    found = server.service.get(request_id)
    assert found is not None and found["state"] == "pending" and found["votes"] == []


def test_deny_with_a_note_decides_and_the_retry_is_told_so(server: Served, open_as: Open) -> None:
    action = action_json(STAGING_DROP, cwd=server.project)
    request_id = server.file(action)
    page = card_of(open_as("alice"), request_id)
    page.fill("textarea[name=note]", "not during the sale")
    page.click("button.deny")
    expect(page.locator("#card-head .badge.state")).to_have_text("denied")
    expect(page.locator(".vote-form")).to_have_count(0)
    expect(page.locator(".votes")).to_contain_text("alice denied")
    expect(page.locator(".votes")).to_contain_text("not during the sale")

    retry = server.submit(action).json()
    assert (retry["state"], retry["id"]) == ("denied", request_id)
    assert "not during the sale" in retry["message"]
    page.goto("/")
    expect(page.locator(f'#history [data-request="{request_id}"]')).to_contain_text("denied")


def test_the_kill_switch_denies_pending_shows_everywhere_and_resumes(
    server: Served, open_as: Open
) -> None:
    alice = open_as("alice")
    bob = open_as("bob", phone=True)
    action = action_json(STAGING_DROP, cwd=server.project)
    request_id = server.file(action)
    card_of(bob, request_id)
    expect(alice.locator(f'#pending [data-request="{request_id}"]')).to_be_visible()

    alice.click("summary:has-text('Kill switch')")
    alice.fill("input[name=reason]", "agent looping on deploys")
    alice.once("dialog", lambda dialog: dialog.dismiss())
    alice.click("button:has-text('Stop all agents')")
    expect(alice.locator("#killswitch")).to_contain_text("Kill switch off")
    assert server.service.kill_state() is None

    alice.once("dialog", lambda dialog: dialog.accept())
    alice.click("button:has-text('Stop all agents')")
    banner = alice.locator("#killswitch.on")
    expect(banner).to_contain_text("KILL SWITCH ON")
    expect(banner).to_contain_text("by alice: “agent looping on deploys”")
    denied = alice.locator(f'#history [data-request="{request_id}"]')
    expect(denied).to_contain_text("denied")
    expect(denied).to_contain_text("by the kill switch")
    expect(bob.locator("#killswitch.on")).to_contain_text("KILL SWITCH ON")  # live
    expect(bob.locator("#card-head .badge.state")).to_have_text("denied")
    expect(bob.locator(".vote-form")).to_have_count(0)
    assert (server.data_dir / killswitch.FILE_NAME).exists()
    assert server.submit(action).json()["state"] == "killed"
    shot(alice, "dashboard-kill-switch-on")
    shot(bob, "card-kill-switch-on-phone")

    alice.once("dialog", lambda dialog: dialog.accept())
    alice.click("button:has-text('Resume agents')")
    expect(alice.locator("#killswitch.off")).to_contain_text("Kill switch off")
    expect(bob.locator("#killswitch.off")).to_contain_text("Kill switch off")  # live
    assert not (server.data_dir / killswitch.FILE_NAME).exists()
    assert server.submit(action).json()["state"] == "pending"


def test_an_unanswered_request_expires_on_the_card_and_loses_its_buttons(
    make_server: MakeServer, open_as: Open, tmp_path: Path
) -> None:
    project = tmp_path / "short"
    (project / ".git").mkdir(parents=True)
    (project / "interlock.toml").write_text(PROJECT_TOML + "\n[approvals]\nexpire = 10\n")
    short = make_server(project_dir=project)
    request_id = short.file(action_json(STAGING_DROP, cwd=project))
    page = card_of(open_as("alice", on=short), request_id)
    expect(page.locator("#card-status .countdown")).to_have_text(re.compile(r"^0:(10|0\d) left$"))
    expect(page.locator("button.approve")).to_be_enabled()

    expect(page.locator("#card-head .badge.state")).to_have_text("expired", timeout=15_000)
    expect(page.locator(".vote-form")).to_have_count(0)
    expect(page.locator("#card-actions")).to_contain_text("expired; nothing can change it now")
    expect(page.locator("#card-status")).to_contain_text("nobody decided in time")
    assert short.service.status(request_id)["state"] == "expired"
    shot(page, "card-expired")
