"""Every main page at tablet width: nothing wider than the screen, every field labelled,
no script errors; a full-page screenshot of each, kept in artifacts/screenshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SCREENSHOTS, Live, sign_in
from tests.browser.test_escalations import urgent_and_emergency, urgent_escalation

PAGES = {
    "today": "/",
    "patients": "/patients",
    "patient": "/patients/P-1",
    "patient-edit": "/patients/P-1/edit",
    "escalations": "/escalations",
    "messages": "/messages",
    "templates": "/templates",
    "report": "/report",
    "audit": "/audit",
    "patients-import": "/patients/import",
    "inbox": "/inbox",
    "conversation": "/inbox/P-1",
    "quick-replies": "/quick-replies",
    "broadcast": "/broadcast",
}
DESKTOP = ("today", "patient", "report")

# Fields a person can reach (not type=hidden) that no label, aria-label or
# aria-labelledby names.
UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter(el => el.type !== "hidden")
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                && !el.getAttribute("aria-labelledby"))
  .map(el => el.outerHTML.slice(0, 160))"""
OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"


def open_at(browser: Browser, live: Live, width: int, height: int) -> Page:
    context = browser.new_context(base_url=live.url, viewport={"width": width, "height": height})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page)
    return page


@pytest.fixture
def clinic_day(live: Live) -> Iterator[Live]:
    """A patient with sent texts, replies and an urgent escalation, so pages have rows."""
    urgent_escalation(live)
    yield live


def test_every_main_page_fits_a_tablet_and_labels_its_fields(
    browser: Browser, clinic_day: Live
) -> None:
    page = open_at(browser, clinic_day, 768, 1024)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, object] = {}
    for name, path in PAGES.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
        overflow = page.evaluate(OVERFLOW)
        if overflow > 0:
            problems[f"{path}: wider than the screen by px"] = overflow
        unlabelled = page.evaluate(UNLABELLED)
        if unlabelled:
            problems[f"{path}: fields without a label"] = unlabelled
        if errors:
            problems[f"{path}: script errors"] = list(errors)
            errors.clear()
    page.context.close()
    assert problems == {}


def test_desktop_screenshots_of_today_the_patient_and_the_report(
    browser: Browser, clinic_day: Live
) -> None:
    page = open_at(browser, clinic_day, 1280, 900)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in DESKTOP:
        response = page.goto(PAGES[name])
        assert response is not None and response.status == 200, name
        shot = SCREENSHOTS / f"{name}-desktop.png"
        page.screenshot(path=shot, full_page=True)
        assert shot.stat().st_size > 10_000, f"{shot} is nearly empty"
    page.context.close()


# Tables that no longer fit their card and scroll sideways inside it.
TABLE_SCROLLS = """() => Array.from(document.querySelectorAll(".table-wrap"))
  .filter(wrap => wrap.scrollWidth > wrap.clientWidth)
  .map(wrap => wrap.scrollWidth - wrap.clientWidth)"""
# The phone link's cell, and whether the link sits on one line inside it.
PHONE_FIT = """link => {
  const cell = link.closest("td, dd").getBoundingClientRect();
  const box = link.getBoundingClientRect();
  const line = parseFloat(getComputedStyle(link).lineHeight) || 24;
  return {inside: box.left >= cell.left - 1 && box.right <= cell.right + 1,
          oneLine: box.height <= line * 1.5, width: box.width};
}"""


def test_the_phone_link_reads_on_one_line_at_desktop_and_tablet_width(
    browser: Browser, live: Live
) -> None:
    urgent_and_emergency(live)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 900), (768, 1024)):
        page = open_at(browser, live, width, height)
        for name, path in (("today", "/"), ("escalations", "/escalations")):
            page.goto(path)
            page.screenshot(path=SCREENSHOTS / f"phone-{name}-{width}.png", full_page=True)
            assert page.evaluate(OVERFLOW) <= 0, (path, width)
            assert page.evaluate(TABLE_SCROLLS) == [], (path, width)
            for link in page.locator("tr[data-escalation-id] a.phone").all():
                expect(link).to_be_visible()
                fit = link.evaluate(PHONE_FIT)
                assert fit["inside"] and fit["oneLine"], (path, width, fit)
        page.locator("tr[data-severity='emergency'] a[href^='/escalations/']").click()
        page.wait_for_url("**/escalations/*")
        page.screenshot(path=SCREENSHOTS / f"phone-escalation-{width}.png", full_page=True)
        assert page.evaluate(OVERFLOW) <= 0, ("escalation", width)
        fit = page.locator("#escalation a.phone").evaluate(PHONE_FIT)
        assert fit["inside"] and fit["oneLine"], ("escalation", width, fit)
        page.context.close()
