"""A patient's reply shows up on the open page by itself: htmx polls the conversation
every 5 s and Today's escalations every 15 s."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import REFRESH_WAIT_MS, Live


def mark_page(page: Page) -> None:
    """A flag that a reload would wipe out."""
    page.evaluate("window.notReloaded = true")


def test_a_reply_appears_in_the_conversation_without_a_reload(live: Live, signed_in: Page) -> None:
    live.enrol()
    live.send_until("foot_check")
    page = signed_in
    page.goto("/patients/P-1")
    thread = page.locator("#thread")
    expect(thread.locator("li.out")).to_have_count(1)
    mark_page(page)

    live.text("My feet look fine, thank you")

    reply = thread.locator("li.in")
    expect(reply).to_contain_text("My feet look fine, thank you", timeout=REFRESH_WAIT_MS)
    assert page.evaluate("window.notReloaded") is True


def test_a_reported_foot_problem_appears_on_today_without_a_reload(
    live: Live, signed_in: Page
) -> None:
    live.enrol()
    live.send_until("foot_check")
    page = signed_in
    page.goto("/")
    escalations = page.locator("#escalations")
    expect(escalations).to_contain_text("No open escalations")
    mark_page(page)

    live.text("2")  # "a new problem" to the foot check

    expect(escalations.locator("tr[data-escalation-id]")).to_contain_text(
        "P-1", timeout=REFRESH_WAIT_MS
    )
    assert page.evaluate("window.notReloaded") is True
