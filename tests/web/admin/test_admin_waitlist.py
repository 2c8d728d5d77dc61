"""The waitlist page: staff put a patient on the list (bad days or hours are field errors),
take them off, and see the slots ahead with who was offered each and who took it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import (
    appointment_table,
    audit_events,
    open_slots,
    slot_offers,
    waitlist_entries,
)
from tests.support.admin import Admin
from tests.support.patients import enrol
from tests.web.admin.test_admin_patients import NEW


def test_staff_put_a_patient_on_the_waitlist_and_take_them_off(
    therapist: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    assert 'href="/waitlist">Waitlist</a>' in therapist.get("/patients").text
    page = therapist.get("/waitlist")
    assert page.status_code == 200
    assert "Nobody is on the waitlist." in page.text

    refused = therapist.post(
        "/waitlist", {"patient": "P-1", "waitlist_days": "mon", "waitlist_hours": "noon"}
    )
    assert refused.status_code == 422
    assert re.search(r'id="waitlist_hours-error">hours must look like', refused.text)
    assert 'value="noon"' in refused.text  # what they typed stays

    saved = therapist.post(
        "/waitlist",
        {"patient": "P-1", "waitlist_days": "Mon Wed", "waitlist_hours": "08:00-12:00"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = therapist.get("/waitlist")
    assert "P-1 is on the waitlist." in page.text
    assert "Ana Torres" in page.text and "mon wed" in page.text and "08:00-12:00" in page.text

    removed = therapist.post("/waitlist/P-1/remove", follow_redirects=False)
    assert removed.status_code == 303
    assert "Nobody is on the waitlist." in therapist.get("/waitlist").text
    with engine.connect() as conn:
        assert conn.execute(select(waitlist_entries)).all() == []
        actions = conn.execute(select(audit_events.c.action)).scalars().all()
    assert [a for a in actions if a.startswith("waitlist")] == [
        "waitlist_added",
        "waitlist_removed",
    ]


def test_an_unknown_patient_is_a_field_error(therapist: Admin) -> None:
    refused = therapist.post(
        "/waitlist", {"patient": "P-404", "waitlist_days": "mon", "waitlist_hours": "08:00-09:00"}
    )
    assert refused.status_code == 422
    assert 'id="patient-error">No patient has that patient id.' in refused.text


def test_the_page_shows_who_was_offered_a_slot_and_who_took_it(
    therapist: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    ana = enrol(engine, settings, clock.now())
    ben = enrol(
        engine, settings, clock.now(), patient_id="P-2", first_name="Ben", phone="+16175550102"
    )
    now = clock.now()
    starts_at = now + timedelta(days=2)
    with engine.begin() as conn:
        freed = conn.execute(
            appointment_table.insert()
            .values(
                patient_id=ana, starts_at=starts_at, source="manual", status="cancelled",
                updated_at=now,
            )
            .returning(appointment_table.c.id)
        ).scalar_one()  # fmt: skip
        slot_id = conn.execute(
            open_slots.insert()
            .values(
                appointment_id=freed, starts_at=starts_at, opened_at=now, state="taken",
                taken_by=ben, taken_at=now,
            )
            .returning(open_slots.c.id)
        ).scalar_one()  # fmt: skip
        conn.execute(
            slot_offers.insert().values(
                slot_id=slot_id, patient_id=ben, round=1, state="taken", offered_at=now,
                expires_at=now + timedelta(hours=1), answered_at=now,
            )
        )  # fmt: skip
    page = therapist.get("/waitlist").text
    assert "Taken by Ben Torres (P-2)" in page
    assert "Ana Torres (P-1)" in page  # whose cancelled session freed it
    assert "Ben Torres (P-2): taken, round 1" in page


def test_the_patient_form_puts_a_patient_on_the_waitlist_and_blank_fields_take_them_off(
    admin: Admin, engine: Engine
) -> None:
    admin.get("/patients/new")  # its form's CSRF token
    refused = admin.post("/patients/new", {**NEW, "waitlist_days": "mon", "waitlist_hours": ""})
    assert refused.status_code == 422
    assert "Waitlist hours must not be blank when waitlist_days is set" in refused.text

    admin.post("/patients/new", {**NEW, "waitlist_days": "Mon Wed", "waitlist_hours": "8:00-12:00"})
    form = admin.get("/patients/P-9/edit").text
    assert 'value="mon wed"' in form and 'value="08:00-12:00"' in form
    with engine.connect() as conn:
        assert conn.execute(select(waitlist_entries.c.weekdays)).scalar_one() == "mon,wed"

    changed = admin.post(
        "/patients/P-9/edit", {**NEW, "waitlist_days": "fri", "waitlist_hours": "08:00-12:00"}
    )
    assert changed.status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(waitlist_entries.c.weekdays)).scalar_one() == "fri"
        detail = conn.execute(
            select(audit_events.c.detail).order_by(audit_events.c.id.desc()).limit(1)
        ).scalar_one()
    assert '"waitlist_days": ["mon wed", "fri"]' in detail

    admin.post("/patients/P-9/edit", {**NEW, "waitlist_days": "", "waitlist_hours": ""})
    with engine.connect() as conn:
        assert conn.execute(select(waitlist_entries)).all() == []


def test_the_patient_page_shows_the_waitlist_and_takes_them_off_it(
    therapist: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    enrol(engine, settings, clock.now())
    page = therapist.get("/patients/P-1")
    assert "Not on the waitlist." in page.text
    therapist.post(
        "/waitlist", {"patient": "P-1", "waitlist_days": "Tue Thu", "waitlist_hours": "09:00-17:00"}
    )

    page = therapist.get("/patients/P-1")
    box = re.search(r'<section class="card" id="waitlist".*?</section>', page.text, re.DOTALL)
    assert box and "tue thu, starting 09:00-17:00 (their time)" in box.group(0)

    removed = therapist.post(
        "/waitlist/P-1/remove",
        {"next": "/patients/P-1#waitlist"},
        follow_redirects=False,
    )
    assert removed.headers["location"] == "/patients/P-1#waitlist"
    assert "Not on the waitlist." in therapist.get("/patients/P-1").text
