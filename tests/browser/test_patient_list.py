"""The patient list in Chromium: a search without accents finds the accented name, the
headers sort, and the pager walks past the first hundred."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from outreach.patients.enrolment import validate_patient
from outreach.patients.upsert import import_specs
from tests.browser.conftest import SCREENSHOTS, Live
from tests.support.patients import patient_row


def test_search_sort_and_pages(live: Live, signed_in: Page) -> None:
    specs = []
    for n in range(1, 131):
        last = "Ramírez" if n % 10 == 0 else f"Smith{n:03d}"
        row = patient_row(
            patient_id=f"P-{n:03d}", first_name="Pat", last_name=last, phone=f"+1617555{n:04d}"
        )
        spec = validate_patient(row, live.settings, n + 1)
        assert not isinstance(spec, list), spec
        specs.append((n + 1, spec))
    assert not import_specs(live.engine, live.settings, specs, live.clock.now()).errors
    page = signed_in
    page.goto("/patients")
    ids = page.locator("tbody tr td:first-child")

    expect(page.locator("caption")).to_contain_text("1–100 of 130 patients")
    page.get_by_role("link", name="Next →").click()
    expect(page.locator("caption")).to_contain_text("101–130 of 130 patients")
    expect(ids).to_have_count(30)

    page.get_by_role("link", name="ID", exact=True).click()
    expect(ids.first).to_have_text("P-001")
    page.get_by_role("link", name="ID", exact=True).click()  # again: the other way
    expect(ids.first).to_have_text("P-130")

    page.get_by_role("searchbox", name="Search").fill("ramirez")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("caption")).to_contain_text("13 patients")
    expect(ids.first).to_have_text("P-130")  # the sort is kept with the search
    expect(page.get_by_role("cell", name="Pat Ramírez").first).to_be_visible()
    for width in (1280, 768):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SCREENSHOTS / f"patient-list-{width}.png", full_page=True)
