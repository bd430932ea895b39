"""Driving Debian's Chromium with Playwright for the dashboard's tests (../shared/notes/deps.md §7).

No ``playwright install``: the browser is the distribution's ``/usr/bin/chromium``, which
``make test`` installs. A missing browser is a failure, never a skip: the dashboard's flows are
part of what "done" means for issue 5.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from tests.server.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
"""Screenshots of the dashboard and the card, git-ignored, overwritten by every run."""

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def launch(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the dashboard's browser tests need Debian's Chromium "
            "(`apt-get install -y chromium`, which `make test` runs)",
            pytrace=False,
        )
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)


def approver_page(
    browser: Browser, url: str, name: str, *, phone: bool = False
) -> tuple[BrowserContext, Page]:
    """A browser of ``name``'s own (cookies not shared), signed in through the form."""
    context = browser.new_context(
        base_url=url,
        viewport=PHONE if phone else DESKTOP,
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=2 if phone else 1,
    )
    context.set_default_timeout(8_000)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(f"{url}/sign-in?next=/")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page.locator(".top .who")).to_have_text(name)
    return context, page


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
