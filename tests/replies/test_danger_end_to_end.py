"""A danger sign in the patient's own words, over the signed-webhook path end to end.

FakeTwilio posts the patient's texts to the real webhook app, signed as Twilio signs them;
the worker's tick pages the on-call phone through the real `twilio` client against the
same FakeTwilio; staff see it on Today, signed in to the admin. Run on SQLite, and on
PostgreSQL when OUTREACH_TEST_DATABASE_URL is set (tests/conftest.py).

An opted-out patient gets no automated text (the law allows none), but a danger sign still
reaches staff as urgent and pages on-call, once, even when Twilio delivers the webhook twice.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import escalations, inbound_messages, patients
from outreach.rules.replies.keywords import normalise
from outreach.sending import oncall
from outreach.texts.render import Renderer
from tests.support.admin import Admin
from tests.support.patients import enrol
from tests.support.twilio import ON_CALL, PATIENT, Clinic, twilio_clinic, twiml_texts

PATIENT_LINK = '<a class="phone" href="tel:+16175550142">(617) 555-0142</a>'


@pytest.fixture
def clinic(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> Iterator[Clinic]:
    with twilio_clinic(engine, settings, clock, renderer, auto_status=["sent", "delivered"]) as c:
        yield c


@dataclass(frozen=True)
class Delivered:
    """One inbound text as FakeTwilio posted it, and what our webhook answered."""

    params: dict[str, str]
    status: int
    answer: str


def text(clinic: Clinic, body: str, sid: str) -> Delivered:
    """The patient texts the clinic: FakeTwilio posts the signed webhook with this sid."""
    status, answer = clinic.fake.post_inbound(PATIENT, body, message_sid=sid)
    [posted] = [p for p in clinic.fake.callbacks if p.params.get("MessageSid") == sid]
    return Delivered(posted.params, status, answer)


def redeliver(clinic: Clinic, first: Delivered) -> Delivered:
    """Twilio retries a webhook: the same form, the same MessageSid, signed again."""
    status, answer = clinic.fake.post_signed(f"{clinic.base_url}/twilio/sms", first.params)
    return Delivered(first.params, status, answer)


def empty_twiml(answer: str) -> bool:
    root = ET.fromstring(answer)
    return root.tag == "Response" and len(root) == 0


def rows(engine: Engine, table: Any) -> list[Any]:
    with engine.begin() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)).all())


def quoted(detail: str) -> list[str]:
    """The patient's words an escalation's detail quotes: 'bleeding: "sangrando"; ...'."""
    return re.findall(r'"([^"]+)"', detail)


def today_row(admin: Admin, escalation_id: int) -> str:
    page = admin.get("/")
    assert page.status_code == 200, page.text
    section = re.search(r'<section id="escalations".*?</section>', page.text, re.DOTALL)
    assert section, "Today has no escalations section"
    row = re.search(rf'<tr id="escalation-{escalation_id}".*?</tr>', section[0], re.DOTALL)
    assert row, f"escalation {escalation_id} is not on Today"
    return row[0]


def page_on_call_twice(clinic: Clinic) -> list[Any]:
    """A worker tick pages on-call; later ticks, and notify_urgent itself, page no more."""
    callbacks = len(clinic.fake.callbacks)
    clinic.service.tick()
    clinic.fake.wait_for_callbacks(callbacks + 2)  # the page's sent and delivered
    pages = clinic.fake.sent_to(ON_CALL)
    clinic.service.tick()
    # Past a lease: a page left unfinished would be resumed now; a finished one is not.
    clinic.clock.advance(timedelta(seconds=clinic.settings.lease_seconds + 60))
    clinic.service.tick()
    again = oncall.notify_urgent(
        clinic.engine, clinic.settings, clinic.renderer, clinic.transport, clinic.clock.now()
    )
    assert again == 0
    assert [m.sid for m in clinic.fake.sent_to(ON_CALL)] == [m.sid for m in pages]
    return pages


@pytest.mark.parametrize(
    ("language", "stop", "body", "signs"),
    [
        ("en", "STOP", "my foot is bleeding a lot and it smells bad", ["bleeding", "smell"]),
        ("es", "BAJA", "se me abrió una llaga en el talón y está sangrando", ["llaga", "sangr"]),
    ],
    ids=["english", "spanish"],
)
def test_an_opted_out_patients_danger_report_reaches_today_as_urgent_and_pages_once(
    clinic: Clinic, admin: Admin, language: str, stop: str, body: str, signs: list[str]
) -> None:
    patient_id = enrol(clinic.engine, clinic.settings, clinic.clock.now(), language=language)
    opted_out = text(clinic, stop, "SMstop")
    [confirmation] = twiml_texts(opted_out.answer)
    assert opted_out.status == 200 and confirmation.startswith("Riverside PT")
    [person] = rows(clinic.engine, patients)
    assert person.opted_out
    outbound_before = clinic.outbound(patient_id=patient_id)
    assert [m.template for m in outbound_before] == ["opted_out"]
    clinic.clock.advance(timedelta(hours=1))

    danger = text(clinic, body, "SMdanger")
    retried = redeliver(clinic, danger)

    # No automated text to an opted-out patient: an empty TwiML answer, nothing queued.
    assert (danger.status, retried.status) == (200, 200)
    assert empty_twiml(danger.answer), danger.answer
    assert empty_twiml(retried.answer), retried.answer
    assert clinic.outbound(patient_id=patient_id) == outbound_before
    assert clinic.outbound(to_phone=PATIENT) == outbound_before
    # Stored raw, once, and read.
    [_, stored] = rows(clinic.engine, inbound_messages)
    assert (stored.body, stored.provider_sid, stored.patient_id) == (body, "SMdanger", patient_id)
    assert json.loads(stored.raw) == danger.params
    assert stored.processed_at is not None and stored.error is None
    assert stored.needs_review
    # One urgent escalation, naming the patient's words that raised it.
    [escalation] = rows(clinic.engine, escalations)
    assert (escalation.severity, escalation.patient_id) == ("urgent", patient_id)
    assert escalation.inbound_id == stored.id and escalation.notified_at is None
    words = quoted(escalation.detail)
    assert words and all(normalise(w) in normalise(body) for w in words), escalation.detail
    for sign in signs:
        assert any(sign in normalise(w) for w in words), (sign, escalation.detail)

    row = today_row(admin, escalation.id)
    assert 'data-severity="urgent"' in row and '<span class="badge urgent">urgent</span>' in row
    assert 'href="/patients/P-1"' in row and PATIENT_LINK in row
    assert "not texted" in row

    [page] = page_on_call_twice(clinic)

    assert page.from_ == clinic.settings.twilio_from_number
    assert "URGENT" in page.body and "P-1" in page.body
    assert "Ana" not in page.body and "Torres" not in page.body, "no names in a text"
    [escalation] = rows(clinic.engine, escalations)
    assert escalation.notified_at is not None
    assert "not texted" not in today_row(admin, escalation.id)
    assert clinic.fake.sent_to(PATIENT) == [], "nothing was ever sent to the patient"


def test_an_emergency_tells_the_patient_to_call_911_and_pages_on_call_once(
    clinic: Clinic, admin: Admin
) -> None:
    patient_id = enrol(clinic.engine, clinic.settings, clinic.clock.now())
    body = "I fell and hit my head and can't get up"

    emergency = text(clinic, body, "SMfell")
    retried = redeliver(clinic, emergency)

    assert (emergency.status, retried.status) == (200, 200)
    [answer] = twiml_texts(emergency.answer)
    assert "call 911 now" in answer.lower(), answer
    assert empty_twiml(retried.answer), "a retried webhook is answered once"
    [reply] = clinic.outbound(patient_id=patient_id)
    assert (reply.template, reply.body, reply.provider) == ("emergency", answer, "twilio")
    [stored] = rows(clinic.engine, inbound_messages)
    assert (stored.body, stored.provider_sid) == (body, "SMfell")
    assert json.loads(stored.raw) == emergency.params
    [escalation] = rows(clinic.engine, escalations)
    assert (escalation.severity, escalation.inbound_id) == ("emergency", stored.id)
    words = quoted(escalation.detail)
    assert any("hit my head" in normalise(w) for w in words), escalation.detail
    assert any("get up" in normalise(w) for w in words), escalation.detail

    row = today_row(admin, escalation.id)
    assert 'data-severity="emergency"' in row and PATIENT_LINK in row

    [page] = page_on_call_twice(clinic)

    assert "P-1" in page.body and "Ana" not in page.body
    [escalation] = rows(clinic.engine, escalations)
    assert escalation.notified_at is not None
    assert clinic.fake.sent_to(PATIENT) == [], "the 911 text went back in the TwiML answer"
