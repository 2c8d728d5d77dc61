"""The demo's front desk at work on sessions: it marks each session an hour after it begins
(attended, unless the script says otherwise), takes a patient's call to cancel, and moves a
session when a patient agrees a new time in the inbox. Each goes through the same functions
as the admin's buttons (outreach/sessions/)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from outreach.accounts.users import Staff
from outreach.config import Settings
from outreach.db.tables import appointment_table, patients
from outreach.demo.clinic import MARKS, START
from outreach.rules.vocabulary import AppointmentStatus, Attendance
from outreach.sessions import attendance, moves

A = appointment_table
P = patients
MARKED_AFTER = timedelta(hours=1)
ON = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)


def _unmarked(engine: Engine, before: datetime) -> list[tuple[int, datetime, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(A.c.id, A.c.starts_at, P.c.external_id, P.c.timezone)
            .join(P, P.c.id == A.c.patient_id)
            .where(
                A.c.starts_at >= START,
                A.c.starts_at <= before,
                A.c.status.in_(ON),
                A.c.attendance.is_(None),
            )
            .order_by(A.c.starts_at, A.c.id)
        ).all()
    return [(r.id, r.starts_at, r.external_id, r.timezone) for r in rows]


def mark_sessions(engine: Engine, settings: Settings, desk: Staff, now: datetime) -> int:
    """Mark every session that began at least an hour ago; returns how many."""
    due = _unmarked(engine, now - MARKED_AFTER)
    for appointment_id, starts_at, patient, zone in due:
        weekday = starts_at.astimezone(ZoneInfo(zone)).strftime("%a")
        mark = MARKS.get((patient, weekday), Attendance.ATTENDED)
        attendance.mark(engine, settings, desk, appointment_id, mark, now)
    return len(due)


def next_mark(engine: Engine, now: datetime, until: datetime) -> datetime | None:
    """When the next session will be an hour old (for the simulation's clock)."""
    with engine.connect() as conn:
        starts_at = conn.execute(
            select(A.c.starts_at)
            .where(
                A.c.starts_at > now - MARKED_AFTER,
                A.c.starts_at <= until,
                A.c.status.in_(ON),
                A.c.attendance.is_(None),
            )
            .order_by(A.c.starts_at)
            .limit(1)
        ).scalar()
    return None if starts_at is None else starts_at + MARKED_AFTER


def _next_session(engine: Engine, patient: str, weekday: str, now: datetime) -> int:
    """The id of the patient's next session on that local weekday."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(A.c.id, A.c.starts_at, P.c.timezone)
            .join(P, P.c.id == A.c.patient_id)
            .where(P.c.external_id == patient, A.c.starts_at > now, A.c.status.in_(ON))
            .order_by(A.c.starts_at)
        ).all()
    for row in rows:
        if row.starts_at.astimezone(ZoneInfo(row.timezone)).strftime("%a") == weekday:
            return int(row.id)
    raise RuntimeError(f"the demo script wants {patient}'s next {weekday} session: there is none")


def cancel(
    engine: Engine, settings: Settings, desk: Staff, patient: str, weekday: str, now: datetime
) -> None:
    """The patient phoned to cancel their next session on `weekday`."""
    appointment_id = _next_session(engine, patient, weekday, now)
    mark = Attendance.CANCELLED_BY_PATIENT
    attendance.mark(engine, settings, desk, appointment_id, mark, now)


def move(
    engine: Engine,
    settings: Settings,
    desk: Staff,
    patient: str,
    weekday: str,
    to_weekday: str,
    to_time: time,
    now: datetime,
) -> None:
    """Move the patient's next `weekday` session to the following `to_weekday` at `to_time`
    on their clock."""
    appointment_id = _next_session(engine, patient, weekday, now)
    with engine.connect() as conn:
        starts_at, zone = conn.execute(
            select(A.c.starts_at, P.c.timezone)
            .join(P, P.c.id == A.c.patient_id)
            .where(A.c.id == appointment_id)
        ).one()
    day = starts_at.astimezone(ZoneInfo(zone)).date()
    while day.strftime("%a") != to_weekday:
        day += timedelta(days=1)
    moves.move(engine, settings, desk, appointment_id, day, to_time, now)
