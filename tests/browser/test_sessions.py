"""Sessions in Chromium: a therapist marks the morning's sessions from Today in one click each
(the row redraws in place, no reload), and moves a session from the patient page."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect
from sqlalchemy import select

from outreach.db.tables import appointment_table, reminders
from tests.browser.conftest import SCREENSHOTS, Live

A = appointment_table
# Monday 23 November 2026, 11:00 in New York: Ana's 10:00 session has begun.
MONDAY_11 = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


def test_a_session_is_marked_no_show_from_today_in_one_click(live: Live, signed_in: Page) -> None:
    live.enrol()  # at 07:00, before the session: the planner makes it
    live.clock.set(MONDAY_11)
    page = signed_in
    page.goto("/")
    section = page.locator("#sessions-today")
    row = section.locator("tr", has_text="Ana Torres")
    expect(row).to_contain_text("Mon 23 Nov 10:00 EST")
    expect(row).to_contain_text("not marked")
    page.evaluate("window.notReloaded = true")

    row.get_by_role("button", name="No show").click()

    expect(row).to_contain_text("The patient will get the no-show text today.")
    expect(row.get_by_role("button", name="No show")).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.notReloaded") is True  # redrawn in place
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "today-sessions.png")

    row.get_by_role("button", name="Attended").click()  # a correction, as easily

    expect(row).to_contain_text("Marked attended (was no-show).")
    with live.engine.connect() as conn:
        marks = conn.execute(select(A.c.attendance).where(A.c.attendance.is_not(None))).all()
    assert [m.attendance for m in marks] == ["attended"]


def test_a_session_is_moved_from_the_patient_page(live: Live, signed_in: Page) -> None:
    live.clock.set(MONDAY_11)
    live.enrol()
    page = signed_in
    page.goto("/patients/P-1")
    wednesday = page.locator("#sessions li", has_text="Wed 25 Nov 10:00 EST")

    wednesday.get_by_text("Move…").click()
    wednesday.get_by_label("New date").fill("2026-11-26")
    wednesday.get_by_label("New time").fill("14:00")
    wednesday.get_by_role("button", name="Move session").click()

    expect(page.locator(".flash")).to_contain_text(
        "Moved the session of Wed 25 Nov 10:00 EST to Thu 26 Nov 14:00 EST."
    )
    sessions = page.locator("#sessions")
    expect(sessions.locator("li", has_text="Wed 25 Nov 10:00 EST")).to_contain_text(
        "moved to Thu 26 Nov 14:00 EST"
    )
    expect(sessions.locator("li", has_text="moved here")).to_contain_text("Thu 26 Nov 14:00 EST")
    with live.engine.connect() as conn:
        kinds = conn.execute(select(reminders.c.kind)).scalars().all()
    assert kinds.count("session_moved") == 1
