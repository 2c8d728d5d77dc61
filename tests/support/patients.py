"""Patients for tests: a valid CSV row and enrolment through the real import."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from outreach.config import Settings

# A Monday, 12:00 UTC: 07:00 in New York, inside quiet hours until 08:00.
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def patient_row(**overrides: Any) -> dict[str, str]:
    """A valid enrolment row; tests override what they care about."""
    row = {
        "patient_id": "P-1",
        "first_name": "Ana",
        "last_name": "Torres",
        "phone": "+16175550142",
        "timezone": "America/New_York",
        "language": "en",
        "plan_start": "2026-11-01",
        "sessions": "mon wed fri at 10:00 for 4 weeks; tue thu at 10:00 for 2 weeks",
        "foot_check_time": "08:30",
        "exercise_days": "tue thu sat",
        "exercise_time": "17:00",
        "exercises": "seated calf stretch; heel raises",
        "pain_baseline": "2",
    }
    row.update(overrides)
    return row


def enrol(
    engine: Engine, settings: Settings, now: datetime, *, consent: bool = True, **overrides: str
) -> int:
    """Enrol one patient through the real validation and import; optionally as if they had
    already answered YES. Returns the patient's row id."""
    from sqlalchemy import select, update

    from outreach.db.tables import patients, reminders
    from outreach.patients.enrolment import validate_patient
    from outreach.patients.upsert import import_specs

    spec = validate_patient(patient_row(**overrides), settings, 2)
    assert not isinstance(spec, list), spec
    report = import_specs(engine, settings, [(2, spec)], now)
    assert not report.errors, report.errors
    with engine.begin() as conn:
        patient_id = int(
            conn.execute(
                select(patients.c.id).where(patients.c.external_id == spec.external_id)
            ).scalar_one()
        )
        if consent:  # as if the consent text went out and was answered YES
            conn.execute(
                update(patients).where(patients.c.id == patient_id).values(consent_state="granted")
            )
            conn.execute(
                update(reminders)
                .where(reminders.c.patient_id == patient_id, reminders.c.kind == "consent")
                .values(state="sent")
            )
    return patient_id
