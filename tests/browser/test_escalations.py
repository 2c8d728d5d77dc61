"""Staff acknowledge and resolve an escalation that a patient's replies raised."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live


def urgent_escalation(live: Live) -> None:
    """A foot check answered "2" (a new problem), then "1" (an open sore): urgent."""
    live.enrol()
    live.send_until("foot_check")
    live.text("2")
    live.text("1")


def test_acknowledging_then_resolving_with_a_note_records_the_first_action(
    live: Live, signed_in: Page
) -> None:
    urgent_escalation(live)
    live.clock.advance(timedelta(minutes=7))  # reported 9 minutes ago: 2 + 7
    page = signed_in
    page.goto("/escalations")
    row = page.locator("tr[data-escalation-id]")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-severity", "urgent")

    row.get_by_role("button", name="Acknowledge").click()
    expect(row).to_have_attribute("data-state", "acknowledged")
    row.get_by_text("Resolve…").click()
    row.get_by_label("What was done").fill("Called her; seen in clinic this afternoon.")
    row.get_by_role("button", name="Resolve", exact=True).click()
    expect(row).to_have_attribute("data-state", "resolved")

    page.goto("/escalations")
    expect(page.locator("tr[data-escalation-id]")).to_have_count(0)
    page.get_by_label("Show").select_option("resolved")
    page.get_by_role("button", name="Filter").click()
    resolved = page.locator("tr[data-escalation-id]")
    expect(resolved).to_contain_text("9 min")
    expect(resolved).to_contain_text("by Alex Admin")
    expect(resolved).to_contain_text("Called her; seen in clinic this afternoon.")
