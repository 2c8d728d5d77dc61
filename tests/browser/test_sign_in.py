"""Signing in and out in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in


def test_a_wrong_password_shows_the_error_and_keeps_the_username(page: Page) -> None:
    page.goto("/patients")
    expect(page).to_have_url("/login?next=/patients")

    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("do not match")
    expect(page.get_by_label("Username")).to_have_value("admin")
    expect(page.get_by_label("Password")).to_have_value("")


def test_signing_in_shows_who_you_are_and_signing_out_ends_it(page: Page) -> None:
    sign_in(page)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.locator("header")).to_contain_text("Alex Admin (admin)")

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url("/login")
    page.goto("/patients")
    expect(page).to_have_url("/login?next=/patients")
