"""The whole path through Twilio over real HTTP: a reminder planned, sent with the real
client, delivered by signed callbacks, answered by the patient, escalated, and paged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import escalations, inbound_messages, patients, reminders
from outreach.texts.render import Renderer
from tests.support.patients import T0, enrol
from tests.support.twilio import (
    CLINIC_NUMBER,
    FOOT_CHECK_AT,
    ON_CALL,
    PATIENT,
    Clinic,
    twilio_clinic,
)


@pytest.fixture
def clinic(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> Iterator[Clinic]:
    with twilio_clinic(engine, settings, clock, renderer, auto_status=["sent", "delivered"]) as c:
        yield c


def test_a_foot_check_is_sent_delivered_answered_and_an_open_sore_pages_on_call(
    clinic: Clinic,
) -> None:
    enrol(clinic.engine, clinic.settings, clinic.clock.now())
    clinic.service.tick()
    assert clinic.fake.messages == [], "07:00 in Boston is inside quiet hours"

    clinic.clock.set(FOOT_CHECK_AT)
    report = clinic.service.tick()

    assert report.dispatch.sent == 1
    [sent] = clinic.fake.sent_to(PATIENT)
    [row] = clinic.outbound(template="foot_check")
    assert (sent.from_, sent.body) == (CLINIC_NUMBER, row.body)
    assert sent.body.startswith("Riverside PT: Time for your foot check")
    assert sent.status_callback == f"{clinic.base_url}/twilio/status?mid={row.id}"
    assert sent.validity_period == clinic.settings.twilio_validity_seconds

    callbacks = clinic.fake.wait_for_callbacks(2)
    assert [(c.params["MessageStatus"], c.status_code) for c in callbacks] == [
        ("sent", 204),
        ("delivered", 204),
    ]
    [row] = clinic.outbound(template="foot_check")
    assert (row.status, row.provider_sid) == ("delivered", sent.sid)

    clinic.clock.advance(timedelta(minutes=20))
    [follow_up] = clinic.text("2")
    assert follow_up.startswith("Riverside PT: What did you see?")

    clinic.clock.advance(timedelta(minutes=3))
    [safety] = clinic.text("1")
    assert "keep weight off that foot" in safety and "urgent care" in safety

    with clinic.engine.begin() as conn:
        [escalation] = conn.execute(select(escalations)).all()
        intents = conn.execute(select(inbound_messages.c.intent)).scalars().all()
    assert (escalation.severity, escalation.reason) == ("urgent", "foot_open_sore")
    assert escalation.notified_at is None
    assert intents == ["foot_problem", "foot_problem"]  # the check's "2", the follow-up's "1"

    clinic.service.tick()

    [page] = clinic.fake.sent_to(ON_CALL)
    assert page.from_ == CLINIC_NUMBER
    assert "P-1" in page.body and "open sore" in page.body
    assert "Ana" not in page.body and "Torres" not in page.body, "no names in a text"
    with clinic.engine.begin() as conn:
        assert conn.execute(select(escalations.c.notified_at)).scalar_one() is not None
    clinic.fake.wait_for_callbacks(6)  # two statuses each for the check and the page, two texts
    [page_row] = clinic.outbound(to_phone=ON_CALL)
    assert (page_row.status, page_row.provider_sid) == ("delivered", page.sid)
    # The answers went back in the webhooks' TwiML; nothing else was created for the patient.
    assert len(clinic.fake.sent_to(PATIENT)) == 1


def test_only_the_consent_text_goes_until_the_patient_replies_yes(clinic: Clinic) -> None:
    enrol(clinic.engine, clinic.settings, T0, consent=False)

    # A whole day of ticks: the foot check, an exercise and a session reminder would be due.
    while clinic.clock.now() < T0 + timedelta(days=1):
        clinic.service.tick()
        clinic.clock.advance(timedelta(minutes=30))

    [consent_text] = clinic.fake.sent_to(PATIENT)
    assert "Reply YES to join" in consent_text.body
    with clinic.engine.begin() as conn:
        planned = conn.execute(select(reminders.c.kind).where(reminders.c.state == "pending")).all()
    assert planned == [], "nothing is planned for a patient who has not said YES"

    [thanks] = clinic.text("Yes")

    assert "You're signed up" in thanks
    with clinic.engine.begin() as conn:
        assert conn.execute(select(patients.c.consent_state)).scalar_one() == "granted"
    tuesday_foot_check = FOOT_CHECK_AT + timedelta(days=1)
    while clinic.clock.now() < tuesday_foot_check:
        clinic.clock.advance(timedelta(minutes=15))
        clinic.service.tick()
    bodies = [m.body for m in clinic.fake.sent_to(PATIENT)]
    assert bodies[0] == consent_text.body
    assert any("Time for your foot check" in body for body in bodies[1:]), bodies
    assert not any("Reply YES to join" in body for body in bodies[1:])
