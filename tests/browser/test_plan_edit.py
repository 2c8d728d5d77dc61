"""Editing a plan in the browser changes the coming reminders on the patient's page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live


def test_a_saved_plan_edit_replans_the_coming_reminders(live: Live, signed_in: Page) -> None:
    live.enrol()  # foot checks daily at 08:30; exercises tue thu sat at 17:00
    page = signed_in
    page.goto("/patients/P-1")
    reminders = page.locator("tr.reminder")
    foot_checks = reminders.filter(has_text="foot check")
    saturday_exercises = reminders.filter(has_text="exercise").filter(has_text="Sat ")
    expect(foot_checks.filter(has_text="08:30").first).to_contain_text("pending")
    expect(saturday_exercises.first).to_contain_text("pending")

    page.get_by_role("link", name="Edit person and plan").click()
    page.get_by_label("Foot check time").fill("09:15")
    page.get_by_role("group", name="Exercise days").get_by_label("Sat").uncheck()
    page.get_by_role("button", name="Save changes").click()

    expect(page).to_have_url("/patients/P-1")
    expect(page.get_by_text("Foot check: daily at 09:15")).to_be_visible()
    foot = foot_checks.all_inner_texts()
    assert foot and all("09:15" in row and "pending" in row for row in foot), foot
    saturday = saturday_exercises.all_inner_texts()
    assert saturday and all(
        "skipped" in row and "the plan or the session changed" in row for row in saturday
    ), saturday
    tuesday = reminders.filter(has_text="exercise").filter(has_text="Tue ").all_inner_texts()
    assert tuesday and all("pending" in row for row in tuesday), tuesday
