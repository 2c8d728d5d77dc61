"""Staff acknowledge and resolve an escalation that a patient's replies raised, see the
exchange that raised it, and have the patient's phone to call, at desktop and tablet width."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from outreach.db.tables import escalations, patients
from outreach.rules.vocabulary import Severity
from tests.browser.conftest import Live
from tests.support.clinic import PHONE
from tests.support.escalations import LATER  # ten texts after the one that raised it


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


ROSA = "+16175550143"  # P-2


def test_today_and_the_escalation_page_give_the_phone_and_the_exchange_that_raised_it(
    live: Live, signed_in: Page
) -> None:
    urgent_escalation(live)
    for word in LATER:
        live.text(f"thanks {word}")
    page = signed_in

    page.goto("/")
    row = page.locator("#escalations tr[data-severity='urgent']")
    call = row.get_by_role("link", name="(617) 555-0142")
    expect(call).to_have_attribute("href", "tel:+16175550142")

    row.get_by_role("link", name="open sore, bleeding or pus").click()
    expect(
        page.locator("#escalation").get_by_role("link", name="(617) 555-0142")
    ).to_have_attribute("href", "tel:+16175550142")
    exchange = page.locator("#conversation")
    expect(exchange.get_by_role("heading")).to_have_text("The exchange that raised it")
    reply = exchange.locator("li[data-part='reply']")
    expect(reply).to_contain_text("This reply raised the escalation")
    expect(reply).to_contain_text("1")
    expect(exchange.locator("li[data-part='question']")).to_contain_text("Open sore")
    expect(exchange.locator("li[data-part='answer']").first).to_contain_text("weight off")
    expect(exchange).not_to_contain_text("thanks")


def test_an_emergency_sorts_above_urgent_with_its_own_badge(live: Live, signed_in: Page) -> None:
    urgent_and_emergency(live)
    page = signed_in

    page.goto("/")
    rows = page.locator("#escalations tr[data-escalation-id]")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-severity", "emergency")
    expect(rows.first.locator(".badge.emergency")).to_have_text("emergency")
    expect(rows.first.get_by_role("link", name="(617) 555-0143")).to_be_visible()
    badge = rows.first.locator(".badge.emergency")
    urgent_badge = rows.nth(1).locator(".badge.urgent")
    assert badge.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"
    assert badge.evaluate("b => getComputedStyle(b).backgroundColor") != urgent_badge.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )

    page.goto("/escalations")
    page.get_by_label("Severity").select_option("emergency")
    page.get_by_role("button", name="Filter").click()
    listed = page.locator("#escalation-list tr[data-escalation-id]")
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text("P-2")


def urgent_and_emergency(live: Live) -> None:
    """P-1 Ana reports an open sore (urgent); then P-2 Rosa does, made an emergency."""
    live.enrol()
    live.enrol(patient_id="P-2", first_name="Rosa", phone=ROSA)
    live.send_until("foot_check")
    for phone in (PHONE, ROSA):
        live.text("2", phone)
        live.text("1", phone)
    make_emergency(live, "P-2")


def make_emergency(live: Live, patient: str) -> None:
    """No reply raises an emergency yet (the safety screen will): promote the patient's."""
    E = escalations
    with live.engine.begin() as conn:
        conn.execute(
            update(E)
            .where(
                E.c.patient_id
                == select(patients.c.id).where(patients.c.external_id == patient).scalar_subquery()
            )
            .values(severity=Severity.EMERGENCY)
        )
