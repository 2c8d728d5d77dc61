"""Marking a session attended, missed, or cancelled by either side; and what follows, in
the same transaction: a cancellation stops the session's reminders at once, a no-show gets
its one text the same day and, the second in a row, a routine escalation. Every mark is
audited with what it replaced, and can be corrected.

The rules are in rules/attendance.py; this module gathers their facts and writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, update
from sqlalchemy.engine import Connection

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.config import Settings
from outreach.db.tables import appointment_table, escalations, patients
from outreach.outbox import commands
from outreach.planning import planner
from outreach.rules.attendance import (
    escalates,
    no_show_text_time,
    no_shows_in_a_row,
    why_not_mark,
)
from outreach.rules.localtime import at_local, patient_quiet_hours
from outreach.rules.readabletime import readable_time
from outreach.rules.vocabulary import (
    AppointmentSource,
    AppointmentStatus,
    Attendance,
    ConsentState,
    ReminderKind,
    Severity,
)
from outreach.sessions import waitlist_slots

log = logging.getLogger("outreach.sessions")

A = appointment_table
P = patients
# Sessions that stand in the patient's record: not replaced by a plan edit or a move.
MARKABLE = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
    AppointmentStatus.CANCELLED,
)
RECENT_MARKS = 20  # how far back no-shows in a row are counted


class NotMarked(ValueError):
    """Why a mark cannot be given, in words for staff."""


@dataclass(frozen=True)
class Marked:
    appointment_id: int
    was: str | None  # the mark it replaced
    mark: Attendance
    no_show_text: bool  # a no-show text was queued
    escalated: int  # no-shows in a row that raised an escalation; 0 if none


def sessions_on(
    engine: Engine, patient_id: int, day: date, zone_name: str, at: time | None = None
) -> list[tuple[int, datetime, str]]:
    """A patient's sessions on one of their local days (or at one local time that day):
    (id, starts_at, status), earliest first, whatever their status."""
    zone = ZoneInfo(zone_name)
    lo = at_local(day, time(0), zone)
    hi = at_local(day + timedelta(days=1), time(0), zone)
    query = select(A.c.id, A.c.starts_at, A.c.status).where(
        A.c.patient_id == patient_id, A.c.starts_at >= lo, A.c.starts_at < hi
    )
    if at is not None:
        query = query.where(A.c.starts_at == at_local(day, at, zone))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(A.c.starts_at)).all()
    return [(r.id, r.starts_at, r.status) for r in rows]


def mark(
    engine: Engine,
    settings: Settings,
    who: Staff,
    appointment_id: int,
    given: Attendance,
    now: datetime,
) -> Marked:
    """Mark one session; raises NotMarked with the reason when it cannot be."""
    with engine.begin() as conn:
        marked = _mark(conn, settings, who, appointment_id, given, now)
    if marked.was is not None and Attendance(marked.was).cancels and not given.cancels:
        # Un-cancelled: the planner makes its reminders again (if it is still ahead).
        planner.plan_due(engine, settings, now)
    return marked


def _mark(
    conn: Connection,
    settings: Settings,
    who: Staff,
    appointment_id: int,
    given: Attendance,
    now: datetime,
) -> Marked:
    row = conn.execute(
        select(
            A.c.id,
            A.c.patient_id,
            A.c.starts_at,
            A.c.status,
            A.c.source,
            A.c.attendance,
            A.c.cancelled_at,
            P.c.timezone,
            P.c.quiet_hours,
            P.c.consent_state,
            P.c.opted_out,
            P.c.paused,
        )
        .join(P, P.c.id == A.c.patient_id)
        .where(A.c.id == appointment_id)
        .with_for_update(of=A)
    ).first()
    if row is None:
        raise NotMarked(f"no session has id {appointment_id}")
    if row.status not in MARKABLE:
        raise NotMarked(
            "that session was moved or replaced by a plan change; mark the session it became"
        )
    if AppointmentSource(row.source).from_feed and (
        given.cancels or (row.attendance is not None and Attendance(row.attendance).cancels)
    ):
        source = AppointmentSource(row.source).word
        raise NotMarked(f"that session comes from the clinic's {source}: cancel it there")
    problem = why_not_mark(given, row.starts_at, now)
    if problem is not None:
        raise NotMarked(problem)
    was = row.attendance
    if was == given:
        return Marked(appointment_id, was, given, False, 0)
    values: dict[str, object] = {
        "attendance": given,
        "marked_at": now,
        "marked_by": who.id,
        "updated_at": now,
    }
    if given.cancels:
        values["status"] = AppointmentStatus.CANCELLED
        values["cancelled_at"] = row.cancelled_at or now
    elif row.status == AppointmentStatus.CANCELLED:
        values["status"] = AppointmentStatus.SCHEDULED
        values["cancelled_at"] = None
    conn.execute(update(A).where(A.c.id == appointment_id).values(**values))
    if given.cancels:
        commands.cancel_appointment(conn, appointment_id, now)  # its reminders stop now
        waitlist_slots.open_slot(conn, settings, row, now)  # with enough notice, offered
    elif row.status == AppointmentStatus.CANCELLED:
        commands.restore_appointment(conn, appointment_id, now)
        waitlist_slots.withdraw_slot(conn, appointment_id, now)
        commands.replan(conn, row.patient_id, now)
    texted = escalated = 0
    if given == Attendance.NO_SHOW:
        texted, escalated = follow_no_show(conn, settings, row, now)
    local = readable_time(row.starts_at, row.timezone, "%Y-%m-%d %H:%M")
    detail = {"starts_at": local, "mark": [_word(was), given.word]}
    audit.record(conn, who, Action.SESSION_MARKED, now, row.patient_id, detail)
    return Marked(appointment_id, was, given, bool(texted), escalated)


def follow_no_show(
    conn: Connection, settings: Settings, row: Any, now: datetime
) -> tuple[int, int]:
    """What follows a no-show, however it was marked (staff, or the clinic's system): the
    day's one text and, the second in a row, a routine escalation. `row` has the session's
    id, patient_id and starts_at and the patient's timezone, quiet_hours, consent_state,
    opted_out and paused. Returns (texts queued, no-shows in a row that escalated)."""
    return _no_show_text(conn, settings, row, now), _no_shows_in_a_row(conn, row, now)


def _word(mark: str | None) -> str | None:
    return None if mark is None else Attendance(mark).word


def _no_show_text(conn: Connection, settings: Settings, row: Any, now: datetime) -> int:
    """Queue the one text of the day a patient missed a session: not to a patient we may not
    text, not if the day has no time left outside their quiet hours, never twice."""
    if not settings.no_show_text:
        return 0
    if row.consent_state != ConsentState.GRANTED or row.opted_out or row.paused:
        return 0
    zone = ZoneInfo(row.timezone)
    quiet = patient_quiet_hours(row.quiet_hours, settings.quiet_hours)
    if now.astimezone(zone).date() != row.starts_at.astimezone(zone).date():
        return 0  # marked on a later day: "we missed you today" would be untrue
    window = no_show_text_time(now, zone, quiet)
    if window is None:
        return 0
    send_at, expires_at = window
    made = commands.queue_text(
        conn,
        row.patient_id,
        ReminderKind.NO_SHOW,
        f"appt:{row.id}",
        send_at,
        expires_at,
        now,
        appointment_id=row.id,
    )
    return 0 if made is None else 1


def _no_shows_in_a_row(conn: Connection, row: Any, now: datetime) -> int:
    """Two no-shows in a row raise one routine escalation; returns the count if it did."""
    marks = (
        conn.execute(
            select(A.c.attendance)
            .where(
                A.c.patient_id == row.patient_id,
                A.c.starts_at <= row.starts_at,
                A.c.status.in_(MARKABLE),
            )
            .order_by(A.c.starts_at.desc())
            .limit(RECENT_MARKS)
        )
        .scalars()
        .all()
    )
    count = no_shows_in_a_row(marks)
    if not escalates(count):
        return 0
    conn.execute(
        escalations.insert().values(
            patient_id=row.patient_id,
            severity=Severity.ROUTINE,
            reason="no_shows",
            detail=f"missed {count} sessions in a row",
            created_at=now,
        )
    )
    log.warning("routine escalation for patient %s: %s no-shows in a row", row.patient_id, count)
    return count
