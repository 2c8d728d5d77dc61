"""The patient form in Chromium: a date picker and time pickers, the timezone chosen from a
list, placeholders lighter than what is typed, and the first field in error focused."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, Live


def _brightness(rgb: str) -> int:
    return sum(int(part) for part in rgb.removeprefix("rgb(").removesuffix(")").split(","))


def test_a_patient_is_added_with_the_pickers_and_a_mistake_is_focused(
    live: Live, signed_in: Page
) -> None:
    page = signed_in
    page.goto("/patients/new")
    phone = page.get_by_label("Mobile phone")
    # An empty field shows its example lighter than the value typed into another.
    page.get_by_label("First name").fill("Carla")
    colours = page.evaluate(
        """() => {
          const typed = document.getElementById('f-first_name');
          const empty = document.getElementById('f-phone');
          return [getComputedStyle(typed).color,
                  getComputedStyle(empty, '::placeholder').color,
                  getComputedStyle(empty, '::placeholder').fontStyle];
        }"""
    )
    typed, example, style = colours
    assert (example, style) == ("rgb(107, 118, 130)", "italic"), colours
    assert _brightness(typed) < _brightness(example) - 150, colours
    expect(phone).to_have_attribute("placeholder", "e.g. +1 617 555 0142")

    page.get_by_label("Patient ID").fill("P-9")
    page.get_by_label("Last name").fill("Méndez")
    phone.fill("617 555 01")  # one digit short
    page.get_by_label("Timezone").select_option("Europe/Madrid")
    page.get_by_label("Plan start").fill("2026-11-23")
    page.get_by_label("Foot check time").fill("09:00")
    page.screenshot(path=SCREENSHOTS / "patient-form-1280.png", full_page=True)
    page.get_by_role("button", name="Add patient").click()

    # Refused: the phone is the field to fix, and the cursor is already in it.
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
    expect(phone).to_be_focused()
    expect(page.get_by_label("Timezone")).to_have_value("Europe/Madrid")
    expect(page.get_by_label("Plan start")).to_have_value("2026-11-23")
    page.set_viewport_size({"width": 768, "height": 900})
    page.screenshot(path=SCREENSHOTS / "patient-form-error-768.png", full_page=True)

    page.keyboard.press("End")  # no click needed: typing goes where the focus is
    page.keyboard.type("42", delay=10)
    page.get_by_role("button", name="Add patient").click()
    expect(page).to_have_url("/patients/P-9")
    expect(page.get_by_text("Carla Méndez").first).to_be_visible()
