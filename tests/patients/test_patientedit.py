"""Staff changes to a patient: the form read as CSV columns and checked by the import's
rules, and the writes behind the pages (each with its audit entry, or none when nothing
changed)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, select

from outreach.accounts.users import Staff
from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, audit_events, reminders
from outreach.patients import edits as patientedit
from outreach.patients.enrolment import validate_patient
from outreach.patients.form import PatientForm, spec_columns
from outreach.rules.vocabulary import Attendance
from outreach.sessions import attendance
from tests.support.patients import enrol, patient_row

WHO = Staff(id=1, username="admin", display_name="Alex Admin", role="admin", stamp="x")


@pytest.fixture
def who(engine: Engine, clock: ManualClock, staff: None) -> Staff:
    return WHO


def audit_rows(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        found = conn.execute(select(audit_events).order_by(audit_events.c.id)).all()
    return [(r.action, json.loads(r.detail)) for r in found]


def test_phase_rows_and_ticked_days_become_the_csv_sessions_text() -> None:
    form = PatientForm.from_form(
        {
            "first_name": ["Ana"],
            "phase-0-days": ["fri", "mon", "wed"],
            "phase-0-time": ["10:00"],
            "phase-0-weeks": ["4"],
            "phase-1-days": [],
            "phase-1-time": [""],
            "phase-1-weeks": [""],
            "phase-2-days": ["tue", "thu", "nonsense"],
            "phase-2-time": [" 11:00 "],
            "phase-2-weeks": ["2"],
            "exercise_days": ["sat", "tue"],
            "exercises": ["heel raises\r\n\r\n  calf stretch  \n"],
        }
    )

    columns = form.columns()

    assert columns["sessions"] == "mon wed fri at 10:00 for 4 weeks; tue thu at 11:00 for 2 weeks"
    assert columns["exercise_days"] == "tue sat"
    assert columns["exercises"] == "heel raises; calf stretch"
    assert columns["first_name"] == "Ana" and columns["phone"] == ""
    assert form.problems() == {}


def test_a_stored_patient_round_trips_through_the_form_unchanged(settings: Settings) -> None:
    spec = validate_patient(patient_row(), settings)
    assert not isinstance(spec, list)
    columns = spec_columns(spec)

    again = validate_patient(PatientForm.from_columns(columns).columns(), settings)

    assert again == spec


@pytest.mark.parametrize(
    ("phase", "field", "message"),
    [
        ({"phase-0-time": ["10:00"], "phase-0-weeks": ["4"]}, "phase-0", "tick at least one"),
        ({"phase-0-days": ["mon"], "phase-0-weeks": ["4"]}, "phase-0", "enter the session time"),
        (
            {"phase-0-days": ["mon"], "phase-0-time": ["9.30"], "phase-0-weeks": ["4"]},
            "phase-0",
            "'9.30' is not a 24-hour time",
        ),
        (
            {"phase-0-days": ["mon"], "phase-0-time": ["09:30"], "phase-0-weeks": ["0"]},
            "phase-0",
            "the weeks must be 1 to 52",
        ),
    ],
)
def test_a_phase_problem_is_reported_on_its_row(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    who: Staff,
    phase: dict[str, list[str]],
    field: str,
    message: str,
) -> None:
    values = {k: [v] for k, v in patient_row(sessions="").items()}
    form = PatientForm.from_form({**values, **phase})

    result = patientedit.save_form(engine, settings, who, form, clock.now())

    assert isinstance(result, dict)
    assert list(result) == [field] and message in result[field][0]


def test_saving_the_same_values_again_changes_nothing_and_audits_nothing(
    engine: Engine, settings: Settings, clock: ManualClock, who: Staff
) -> None:
    form = PatientForm.from_columns(patient_row())

    first = patientedit.save_form(engine, settings, who, form, clock.now())
    again = patientedit.save_form(engine, settings, who, form, clock.now(), external_id="P-1")

    assert first == patientedit.Saved("P-1", "created")
    assert again == patientedit.Saved("P-1", "unchanged")
    assert [action for action, _ in audit_rows(engine)] == ["patient_created"]


def test_an_edit_cannot_change_the_patient_id(
    engine: Engine, settings: Settings, clock: ManualClock, who: Staff
) -> None:
    enrol(engine, settings, clock.now())
    form = PatientForm.from_columns(patient_row(patient_id="P-2", first_name="Anna"))

    result = patientedit.save_form(engine, settings, who, form, clock.now(), external_id="P-1")

    assert result == patientedit.Saved("P-1", "updated")
    [(action, detail)] = audit_rows(engine)
    assert (action, detail) == ("patient_updated", {"first_name": ["Ana", "Anna"]})


def test_pausing_or_resuming_twice_records_it_once(
    engine: Engine, settings: Settings, clock: ManualClock, who: Staff
) -> None:
    enrol(engine, settings, clock.now())

    outcomes = [
        patientedit.set_paused(engine, settings, who, "P-1", paused, clock.now())
        for paused in (True, True, False, False)
    ]

    assert outcomes == [True, False, True, False]
    assert [a for a, _ in audit_rows(engine)] == ["patient_paused", "patient_resumed"]


def test_a_session_added_where_one_was_cancelled_comes_back(
    engine: Engine, settings: Settings, clock: ManualClock, who: Staff
) -> None:
    ana = enrol(engine, settings, clock.now())
    add = (engine, settings, who, "P-1", "2026-11-28", "11:30", clock.now())
    assert patientedit.add_session(*add) == {}
    assert patientedit.add_session(
        engine, settings, who, "P-1", "2026-11-28", "11:30", clock.now()
    ) == {"session_time": ["There is already a session at that time."]}
    with engine.connect() as conn:
        [session] = conn.execute(
            select(appointment_table)
            .where(appointment_table.c.patient_id == ana)
            .where(appointment_table.c.source == "manual")
        ).all()
    cancel = Attendance.CANCELLED_BY_CLINIC
    assert attendance.mark(engine, settings, who, session.id, cancel, clock.now()).mark == cancel

    errors = patientedit.add_session(
        engine, settings, who, "P-1", "2026-11-28", "11:30", clock.now()
    )

    assert errors == {}
    with engine.connect() as conn:
        status = conn.execute(
            select(appointment_table.c.status).where(appointment_table.c.id == session.id)
        ).scalar_one()
        pending = conn.execute(
            select(reminders.c.id).where(
                reminders.c.appointment_id == session.id, reminders.c.state == "pending"
            )
        ).all()
    assert status == "scheduled" and pending
