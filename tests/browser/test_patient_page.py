"""A patient's first screen answers who this is, how to reach them and what needs doing, at
desktop and tablet width; the latest texts open at the newest."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import SCREENSHOTS, Live
from tests.browser.test_escalations import urgent_escalation
from tests.browser.test_layout import open_at


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (768, 1024)])
def test_the_first_screen_has_the_phone_what_needs_doing_and_the_latest_texts(
    browser: Browser, live: Live, width: int, height: int
) -> None:
    urgent_escalation(live)
    page = open_at(browser, live, width, height)
    page.goto("/patients/P-1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"patient-first-screen-{width}.png")

    call = page.locator(".patient-header a.phone")
    expect(call).to_have_attribute("href", "tel:+16175550142")
    needs = page.locator("#needs-doing")
    expect(needs).to_contain_text("open sore, bleeding or pus")
    newest = page.locator("#thread li").last
    for seen in (call, page.locator("#needs-heading"), page.locator("#thread-heading")):
        expect(seen).to_be_in_viewport()
    if width >= 1280:  # beside what needs doing, the newest text shows without scrolling
        expect(newest).to_be_in_viewport()
    page.context.close()
