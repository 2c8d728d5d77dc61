"""The inbox in Chromium, with the real twilio client talking to a loopback Twilio: a
patient's question arrives without a reload, staff assign it, answer with a quick reply, and
the text reaches Twilio and shows in the thread with their name; a text to an opted-out
patient is refused with the reason; a message to many is previewed and sent once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Engine, delete, update

from outreach.accounts.users import staff_by_username
from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import patients, quick_replies
from outreach.inbox import quickreplies
from outreach.texts.render import Renderer
from tests.browser.conftest import REFRESH_WAIT_MS, SCREENSHOTS, sign_in
from tests.support.admin import SECRET, add_staff
from tests.support.patients import enrol
from tests.support.twilio import PATIENT, Clinic, twilio_clinic

DAYTIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in Boston
QUICK = "Hi {{ patient.first_name }}, please call us at {{ clinic.phone }} when you can."


@pytest.fixture
def clinic(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> Iterator[Clinic]:
    clock.set(DAYTIME)
    enrol(engine, settings, clock.now(), sessions="")
    add_staff(engine, clock.now())
    admin = staff_by_username(engine, "admin")
    assert admin is not None
    with engine.begin() as conn:
        conn.execute(delete(quick_replies))
        quickreplies.save(
            conn, renderer, admin, clock.now(), name="Please call us", language="en", body=QUICK
        )
    with twilio_clinic(engine, settings, clock, renderer, session_secret=SECRET) as clinic:
        yield clinic


def open_at(browser: Browser, clinic: Clinic, width: int = 1280, height: int = 900) -> Page:
    context = browser.new_context(
        base_url=clinic.base_url, viewport={"width": width, "height": height}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page)
    return page


def test_a_question_is_assigned_answered_with_a_quick_reply_and_sent_through_twilio(
    browser: Browser, clinic: Clinic
) -> None:
    page = open_at(browser, clinic)
    page.goto("/inbox")
    listing = page.locator("#inbox-list")
    expect(listing).to_contain_text("Nothing waits for a person")
    page.evaluate("window.notReloaded = true")

    clinic.text("can I come thursday at 3 instead?")

    expect(listing).to_contain_text("can I come thursday at 3 instead?", timeout=REFRESH_WAIT_MS)
    assert page.evaluate("window.notReloaded") is True
    listing.get_by_role("link", name="Ana Torres").click()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_role("status")).to_contain_text("Assigned to you.")

    page.get_by_label("Quick reply").select_option(label="Please call us")
    page.get_by_role("button", name="Use").click()
    box = page.get_by_label("Your text")
    expect(box).to_have_value("Hi Ana, please call us at (617) 555-0100 when you can.")
    expect(page.locator("#reply-measure")).to_contain_text("GSM-7 · 1 segment")
    box.fill(box.input_value() + " Or reply here with a time.")
    expect(page.locator("#reply-measure")).to_contain_text("81 characters")
    page.screenshot(path=str(SCREENSHOTS / "inbox-conversation-1280.png"), full_page=True)
    page.get_by_role("button", name="Send text").click()
    expect(page.locator("#reply")).to_contain_text("Text queued: it goes out now.")

    clinic.dispatch()

    [create] = clinic.creates(to=PATIENT)
    assert create.params["Body"] == (
        "Hi Ana, please call us at (617) 555-0100 when you can. Or reply here with a time."
    )
    staff_text = page.locator("#conversation-thread li.staff")
    expect(staff_text).to_contain_text("Alex Admin", timeout=REFRESH_WAIT_MS)
    expect(staff_text).to_contain_text("Or reply here with a time.")
    page.set_viewport_size({"width": 768, "height": 1024})
    page.screenshot(path=str(SCREENSHOTS / "inbox-conversation-768.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_a_text_to_an_opted_out_patient_is_refused_with_the_reason(
    browser: Browser, clinic: Clinic, engine: Engine
) -> None:
    page = open_at(browser, clinic)
    page.goto("/inbox/P-1")
    page.get_by_label("Your text").fill("Are you OK? We have not heard from you.")
    with engine.begin() as conn:  # the patient texts STOP while staff type
        conn.execute(update(patients).values(opted_out=True))

    page.get_by_role("button", name="Send text").click()

    alert = page.locator("#reply").get_by_role("alert")
    expect(alert.first).to_contain_text("the patient opted out of texts")
    expect(page.locator("#reply")).to_contain_text("Are you OK? We have not heard from you.")
    clinic.dispatch()
    assert clinic.creates(to=PATIENT) == []


def test_a_message_to_many_is_previewed_with_its_count_and_sent_once(
    browser: Browser, clinic: Clinic
) -> None:
    page = open_at(browser, clinic)
    page.goto("/broadcast")
    page.get_by_label("every active patient").check()
    page.get_by_label("Text in English").fill("Riverside PT is closed tomorrow (snow).")
    page.get_by_label("Text in Spanish").fill("Riverside PT cierra mañana (nieve).")
    page.get_by_role("button", name="Preview").click()

    expect(page.locator("main")).to_contain_text("1 patient")
    expect(page.locator("main")).to_contain_text("English: 1 patient")
    page.screenshot(path=str(SCREENSHOTS / "broadcast-preview-1280.png"), full_page=True)
    page.get_by_role("button", name="Send to 1 patient").click()
    expect(page.get_by_role("status")).to_contain_text("1 patient will get it")
    page.go_back()
    page.get_by_role("button", name="Send to 1 patient").click()
    expect(page.get_by_role("status")).to_contain_text("This message was sent before")

    clinic.dispatch()
    assert [c.params["Body"] for c in clinic.creates(to=PATIENT)] == [
        "Riverside PT is closed tomorrow (snow)."
    ]
