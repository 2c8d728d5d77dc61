"""Feeds in the admin: the patient page says where each session came from and leaves moving
and cancelling a feed's session to the clinic's system; the feeds page shows each feed's
health, the appointments waiting for their patient (with a prefilled enrolment form) and the
messages not applied; enrolling through the form brings the kept appointments in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, feed_messages, unmatched_appointments
from outreach.feeds import appointments as feed
from outreach.feeds import health
from outreach.feeds.appointments import FeedAppointment
from outreach.planning.planner import plan_due
from outreach.rules.vocabulary import AppointmentSource, AppointmentStatus, FeedStatus
from tests.support.admin import Admin
from tests.support.patients import enrol

A = appointment_table
THURSDAY_10_NY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def from_feed(patient_ref: str = "P-1", **changes: object) -> FeedAppointment:
    values: dict[str, object] = {
        "source": AppointmentSource.HL7,
        "ref": "A-1001",
        "patient_ref": patient_ref,
        "status": FeedStatus.SCHEDULED,
        "starts_at": THURSDAY_10_NY,
    }
    values.update(changes)
    return FeedAppointment(**values)  # type: ignore[arg-type]


def give(engine: Engine, settings: Settings, now: datetime, item: FeedAppointment) -> int | None:
    with engine.begin() as conn:
        applied = feed.apply(conn, settings, item, now)
        health.record(conn, item.source, now, received=1, applied=True)
    feed.settle(engine, settings, now)
    return applied.appointment_id


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", unescape(html)).split())


@pytest.fixture
def booked(engine: Engine, settings: Settings, clock: ManualClock) -> int:
    enrol(engine, settings, clock.now(), sessions="")
    plan_due(engine, settings, clock.now())
    appointment = give(engine, settings, clock.now(), from_feed())
    assert appointment is not None
    return appointment


def test_the_patient_page_says_a_session_came_from_the_scheduling_system(
    admin: Admin, booked: int
) -> None:
    page = admin.get("/patients/P-1").text
    sessions = re.search(r'<section class="card" id="sessions".*?</section>', page, re.DOTALL)
    assert sessions
    text = words(sessions.group(0))

    assert "Thu 26 Nov 10:00 EST from the scheduling system (HL7) · A-1001" in text
    assert "kept in the clinic's system: move or cancel it there" in text
    assert f"/sessions/{booked}/move" not in page
    assert f"/sessions/{booked}/mark" not in page


def test_a_feed_session_is_not_cancelled_or_moved_from_the_admin(
    admin: Admin, engine: Engine, booked: int
) -> None:
    admin.post(
        f"/sessions/{booked}/mark",
        {"mark": "cancelled_by_clinic", "next": "/patients/P-1"},
        follow_redirects=False,
    )
    first = words(admin.get("/patients/P-1").text)
    admin.post(
        f"/patients/P-1/sessions/{booked}/move",
        {"move_date": "2026-11-27", "move_time": "11:00"},
        follow_redirects=False,
    )
    second = words(admin.get("/patients/P-1").text)

    assert "comes from the clinic's scheduling system (HL7): cancel it there" in first
    assert "comes from the clinic's scheduling system (HL7): move it there" in second
    with engine.connect() as conn:
        row = conn.execute(select(A.c.status, A.c.starts_at).where(A.c.id == booked)).one()
    assert (row.status, row.starts_at) == (AppointmentStatus.SCHEDULED, THURSDAY_10_NY)


def test_the_feeds_page_lists_what_waits_for_enrolment_and_what_was_not_applied(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    kept = from_feed("P-77", patient_name="Luis Ortega", phone="+16175550177")
    give(engine, settings, clock.now(), kept)
    clock.advance(timedelta(minutes=2))
    with engine.begin() as conn:
        conn.execute(
            feed_messages.insert().values(
                feed="hl7",
                received_at=clock.now(),
                peer="127.0.0.1",
                raw="MSH|^~\\&|PMS|CLINIC|||20261123070000||SIU^S99|M-9|P|2.5.1",
                message_type="SIU^S99",
                control_id="M-9",
                outcome="rejected",
                ack="AR",
                detail="SIU^S99 is not a scheduling message outreach takes",
            )
        )
        health.record(conn, AppointmentSource.HL7, clock.now(), received=1, error="SIU^S99 ...")

    today = words(admin.get("/").text)
    assert (
        "Feeds: 1 appointment from the clinic's system waits for the patient to be enrolled."
        " The HL7 feed is failing." in today
    )
    assert 'href="/feeds"' in admin.get("/patients").text
    page = admin.get("/feeds").text
    text = words(page)

    assert "HL7 failing Mon 23 Nov 07:02 EST Mon 23 Nov 07:00 EST 2 1 1" in text
    assert "Luis Ortega +16175550177 P-77 Thu 26 Nov 10:00" in text
    assert "scheduling system (HL7) · A-1001" in text
    assert "SIU^S99 M-9 AR SIU^S99 is not a scheduling message outreach takes" in text
    link = re.search(r'href="(/patients/new\?[^"]+)"', page)
    assert link
    form = admin.get(unescape(link.group(1))).text
    assert 'value="P-77"' in form and 'value="Luis"' in form and 'value="Ortega"' in form


def test_enrolling_the_patient_brings_the_kept_appointment_in(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    give(engine, settings, clock.now(), from_feed("P-77", patient_name="Luis Ortega"))

    saved = admin.post(
        "/patients/new",
        {
            "patient_id": "P-77",
            "first_name": "Luis",
            "last_name": "Ortega",
            "phone": "+16175550177",
            "timezone": "America/New_York",
            "language": "es",
            "plan_start": "2026-11-23",
        },
        follow_redirects=False,
    )

    assert saved.status_code == 303, saved.text
    with engine.connect() as conn:
        row = conn.execute(select(A.c.feed_ref, A.c.starts_at)).one()
        matched = conn.execute(select(unmatched_appointments.c.matched_at)).scalar()
    assert tuple(row) == ("A-1001", THURSDAY_10_NY)
    assert matched is not None
    assert "None: every appointment" in words(admin.get("/feeds").text)
    assert "Feeds:" not in words(admin.get("/").text)  # nothing to say: nothing said
