"""The report's figures about sessions, on the clinic day each starts: whether it was
confirmed and reminded, how staff marked it, how much notice a cancellation gave; and the
slots of cancelled sessions offered to the waitlist, on the day each was opened."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, exists, select

from outreach.db.tables import appointment_table, open_slots, outbound_messages
from outreach.rules.localtime import local_date
from outreach.rules.vocabulary import AppointmentSource, AppointmentStatus, Attendance, Question
from outreach.staff.report.counts import Figure, Tally
from outreach.staff.report.queries import NOT_SENT, confirmed

A = appointment_table
OUT = outbound_messages
ON = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)
# Notice is kept in whole hours from -1 (after the start) to 169, enough for any
# late-cancellation threshold the settings allow (1 to 168 hours).
MOST_NOTICE = 169


def notice_hours(starts_at: datetime, cancelled_at: datetime) -> int:
    """Whole hours of notice, floored: `late_hours` > this exactly when the cancellation is
    late (rules/attendance.is_late_cancellation), for any whole `late_hours`."""
    hours = (starts_at - cancelled_at) // timedelta(hours=1)
    return max(-1, min(MOST_NOTICE, hours))


def count_sessions(
    conn: Connection, lo: datetime, hi: datetime, zone: ZoneInfo, found: Tally
) -> None:
    """Sessions starting in [lo, hi)."""
    if hi <= lo:
        return
    reminded = exists().where(
        OUT.c.prompt_ref == A.c.id,
        OUT.c.prompt == Question.SESSION,
        OUT.c.status.notin_(NOT_SENT),
    )
    rows = conn.execute(
        select(
            A.c.starts_at,
            A.c.status,
            A.c.attendance,
            A.c.cancelled_at,
            confirmed().label("confirmed"),
            reminded.label("reminded"),
        ).where(A.c.starts_at >= lo, A.c.starts_at < hi)
    )
    for r in rows:
        on = local_date(r.starts_at, zone)
        if r.status in ON:
            found.add(on, Figure.SESSIONS, "on")
            if not r.confirmed:
                found.add(on, Figure.SESSIONS, "unconfirmed")
                if not r.reminded:
                    found.add(on, Figure.SESSIONS, "unconfirmed_unreminded")
        if r.attendance is None:
            continue
        side = "confirmed" if r.confirmed else "unconfirmed"
        found.add(on, Figure.MARKED, f"{side}:{r.attendance}")
        if Attendance(r.attendance).cancels and r.cancelled_at is not None:
            hours = notice_hours(r.starts_at, r.cancelled_at)
            found.add(on, Figure.CANCELLED, f"{r.attendance}:{hours}")


def count_slots(conn: Connection, lo: datetime, hi: datetime, zone: ZoneInfo, found: Tally) -> None:
    """Slots opened to the waitlist in [lo, hi), and those a waitlisted patient took."""
    S = open_slots
    filled = exists().where(A.c.filled_slot == S.c.id, A.c.source == AppointmentSource.WAITLIST)
    for opened_at, was_filled in conn.execute(
        select(S.c.opened_at, filled).where(S.c.opened_at >= lo, S.c.opened_at < hi)
    ):
        on = local_date(opened_at, zone)
        found.add(on, Figure.SLOTS, "opened")
        if was_filled:
            found.add(on, Figure.SLOTS, "filled")
