"""Read-only views of patients and plans, for the command line and the admin: the patient list,
where each patient stands, and a plan with its coming reminders."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, or_, select

from outreach.db.tables import patients, reminders
from outreach.patients.storedplan import read_plan
from outreach.rules.readabletime import readable_time
from outreach.rules.schedule import WEEKDAYS, exercise_names, parse_weekdays
from outreach.rules.vocabulary import ConsentState, ReminderState


def status_of(row: Any) -> str:
    """One word for where a patient stands, in the order that matters to staff."""
    if row.opted_out:
        return "opted out"
    if row.paused:
        return "paused"
    if row.consent_state != ConsentState.GRANTED:
        return "awaiting consent"
    return "active"


def patient_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.begin() as conn:
        rows = conn.execute(select(patients).order_by(patients.c.external_id)).all()
    return [
        {
            "patient_id": row.external_id,
            "name": f"{row.first_name} {row.last_name}".strip(),
            "phone": row.phone,
            "language": row.language,
            "timezone": row.timezone,
            "consent": row.consent_state,
            "opted_out": row.opted_out,
            "paused": row.paused,
            "status": status_of(row),
        }
        for row in rows
    ]


def _days(text: str) -> str:
    return " ".join(WEEKDAYS[d] for d in parse_weekdays(text)) or "-"


def plan_view(engine: Engine, key: str, now: datetime, until: datetime) -> dict[str, Any] | None:
    """A patient's plan and their reminders from now until `until`, in local time."""
    with engine.begin() as conn:
        patient = conn.execute(
            select(patients).where(or_(patients.c.external_id == key, patients.c.phone == key))
        ).first()
        if patient is None:
            return None
        plan, phases = read_plan(conn, patient.id)
        coming = conn.execute(
            select(reminders)
            .where(
                reminders.c.patient_id == patient.id,
                reminders.c.send_at < until,
                # Due but not yet sent (a worker is down, or it is waiting out quiet hours)
                # is still coming.
                or_(
                    reminders.c.send_at >= now,
                    reminders.c.state.in_((ReminderState.PENDING, ReminderState.CLAIMED)),
                ),
            )
            .order_by(reminders.c.send_at, reminders.c.id)
        ).all()
    zone = ZoneInfo(patient.timezone)
    return {
        "patient_id": patient.external_id,
        "name": f"{patient.first_name} {patient.last_name}".strip(),
        "timezone": patient.timezone,
        "language": patient.language,
        "status": status_of(patient),
        "plan": None
        if plan is None
        else {
            "version": plan.version,
            "start_date": plan.start_date.isoformat(),
            "end_date": plan.end_date.isoformat() if plan.end_date else None,
            "sessions": [
                {
                    "days": _days(phase.weekdays),
                    "time": phase.session_time.strftime("%H:%M"),
                    "weeks": phase.weeks,
                }
                for phase in phases
            ],
            "foot_check_time": plan.foot_check_time.strftime("%H:%M")
            if plan.foot_check_time
            else None,
            "exercise_days": _days(plan.exercise_days) if plan.exercise_days else None,
            "exercise_time": plan.exercise_time.strftime("%H:%M") if plan.exercise_time else None,
            "exercises": list(exercise_names(plan.exercises, per_line=True)),
            "planned_until": plan.planned_until.isoformat() if plan.planned_until else None,
        },
        "reminders": [
            {
                "kind": row.kind,
                "send_at_local": readable_time(row.send_at, zone, "%a %Y-%m-%d %H:%M"),
                "send_at_utc": row.send_at.isoformat(),
                "state": row.state,
                "skip_reason": row.skip_reason,
            }
            for row in coming
        ],
    }
