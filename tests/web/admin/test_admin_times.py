"""Times in the admin: what concerns a patient's day in the patient's zone, clinic-wide
lists in the clinic's, every time with its zone's abbreviation (docs/times.md).

The clinic is in New York (the default settings); the patient lives in Chicago, an hour
behind. It is Monday 26 October 2026, 12:00 in Chicago (CDT), 13:00 in New York (EDT).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import inbound_messages, reminders
from outreach.planning.planner import plan_due
from outreach.replies import inbound
from tests.support.admin import Admin
from tests.support.patients import enrol

NOON_IN_CHICAGO = datetime(2026, 10, 26, 17, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON_IN_CHICAGO)


@pytest.fixture
def chicago(engine: Engine, settings: Settings, clock: ManualClock) -> None:
    """P-1, in Chicago, with a foot check every evening at 20:00 her time."""
    enrol(
        engine,
        settings,
        clock.now(),
        timezone="America/Chicago",
        plan_start="2026-10-01",
        foot_check_time="20:00",
    )
    plan_due(engine, settings, clock.now())


def section(html: str, section_id: str) -> str:
    found = re.search(rf'<section id="{section_id}".*?</section>', html, re.DOTALL)
    assert found, f"no section {section_id}"
    return found.group(0)


def a_reply_needing_a_look(engine: Engine, now: datetime, phone: str) -> None:
    reply_id = inbound.store(engine, now, from_phone=phone, body="can I come Thursday at 3?")
    with engine.begin() as conn:
        conn.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == reply_id)
            .values(intent="unknown", needs_review=True, processed_at=now)
        )


def test_today_shows_a_chicago_foot_check_at_20_00_cdt_not_at_the_clinics_21_00(
    admin: Admin, chicago: None
) -> None:
    html = section(admin.get("/").text, "outgoing")

    assert re.search(
        r'<td>20:00 CDT</td><td><a href="/patients/P-1">P-1</a></td><td>foot check', html
    )
    assert "21:00" not in html


def test_todays_failed_reminders_and_replies_are_in_the_patients_time(
    admin: Admin, engine: Engine, clock: ManualClock, chicago: None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(reminders)
            .where(reminders.c.kind == "foot_check", reminders.c.send_at < TUESDAY)
            .values(state="failed", skip_reason="send_failed", updated_at=clock.now())
        )
    a_reply_needing_a_look(engine, clock.now(), "+16175550142")

    page = admin.get("/").text

    # Monday's foot check, due 20:00 in Chicago (01:00 UTC, 21:00 in New York).
    failed = section(page, "failed")
    assert re.search(r'<td>Mon 26 Oct 20:00 CDT</td><td><a href="/patients/P-1"', failed)
    assert "Mon 26 Oct 12:00 CDT" in section(page, "needs-look")


def test_a_reply_from_a_number_that_is_no_patients_is_in_clinic_time(
    admin: Admin, engine: Engine, clock: ManualClock
) -> None:
    a_reply_needing_a_look(engine, clock.now(), "+16175550999")

    assert "Mon 26 Oct 13:00 EDT" in section(admin.get("/").text, "needs-look")


def test_the_patient_page_is_in_the_patients_time(
    admin: Admin, engine: Engine, clock: ManualClock, chicago: None
) -> None:
    a_reply_needing_a_look(engine, clock.now(), "+16175550142")

    page = admin.get("/patients/P-1").text

    assert re.search(r'class="reminder"><td>Mon 2026-10-26 20:00 CDT</td><td>foot check', page)
    assert re.search(r'class="consent-event"><td>Mon 26 Oct 12:00 CDT</td><td>requested', page)
    assert re.search(r'data-direction="in".*?Mon 26 Oct 12:00 CDT', page, re.DOTALL)
    assert "EDT" not in page


def test_clinic_wide_lists_are_in_the_clinics_time_labelled(
    admin: Admin, engine: Engine, clock: ManualClock, chicago: None
) -> None:
    a_reply_needing_a_look(engine, clock.now(), "+16175550142")

    log = admin.get("/messages").text
    patients = admin.get("/patients").text

    assert "<td>Mon 26 Oct 13:00 EDT</td>" in log and "CDT" not in log
    assert "Mon 26 Oct 13:00 EDT" in patients and "CDT" not in patients
