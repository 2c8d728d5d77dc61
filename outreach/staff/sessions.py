"""Sessions as staff see them to mark them: the day's sessions on Today, those of past days
still without a mark, and a patient's recent and coming sessions on their page.

Each row carries its patient's timezone: a session is shown at the patient's own wall time,
labelled, since that is the time the patient was told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from outreach.db.tables import appointment_table, patients
from outreach.rules.attendance import awaits_mark
from outreach.rules.localtime import day_bounds, local_date
from outreach.rules.vocabulary import AppointmentSource, AppointmentStatus, Attendance
from outreach.sessions.attendance import MARKABLE

A = appointment_table
P = patients
LIVE = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)
# Today lists unmarked sessions of this many past clinic days; older ones count in the
# report as unmarked. A clinic that stops marking is not shown a list of thousands.
AWAITING_DAYS = 14
SHOWN = 100  # rows a list shows; the heading gives the count
COUNTED = 1000  # counted up to this, then "1000+": a count should not cost a scan
PATIENT_PAST_DAYS = 30


@dataclass(frozen=True)
class SessionRow:
    id: int
    starts_at: datetime
    status: str
    attendance: str | None
    source: str
    patient_id: str  # the clinic's id (patients.external_id)
    name: str
    timezone: str
    moved_to: datetime | None = None  # a moved session: its new time
    feed_ref: str | None = None  # from the clinic's system: its id for the appointment

    @property
    def from_feed(self) -> bool:
        """Kept in the clinic's own system: moved and cancelled there, not here."""
        return AppointmentSource(self.source).from_feed

    @property
    def mark_word(self) -> str | None:
        return None if self.attendance is None else Attendance(self.attendance).word


@dataclass(frozen=True)
class Listing:
    rows: list[SessionRow]
    total: int  # at most COUNTED

    @property
    def more(self) -> int:
        return self.total - len(self.rows)

    @property
    def count(self) -> str:
        """The count for a heading: '12', or '1000+' past what is counted."""
        return f"{self.total}+" if self.total >= COUNTED else str(self.total)


def _row(r: Any) -> SessionRow:
    name = f"{r.first_name} {r.last_name}".strip()
    return SessionRow(
        r.id, r.starts_at, r.status, r.attendance, r.source, r.external_id, name, r.timezone
    )


def _listing(conn: Connection, *where: ColumnElement[bool], order: str = "asc") -> Listing:
    query = (
        select(
            A.c.id,
            A.c.starts_at,
            A.c.status,
            A.c.attendance,
            A.c.source,
            P.c.external_id,
            P.c.first_name,
            P.c.last_name,
            P.c.timezone,
        )
        .join(P, P.c.id == A.c.patient_id)
        .where(*where)
    )
    by = A.c.starts_at.asc() if order == "asc" else A.c.starts_at.desc()
    rows = conn.execute(query.order_by(by, A.c.id).limit(SHOWN)).all()
    total = len(rows)
    if total == SHOWN:
        some = select(A.c.id).where(*where).limit(COUNTED).subquery()
        total = conn.execute(select(func.count()).select_from(some)).scalar_one()
    return Listing([_row(r) for r in rows], total)


def day_sessions(engine: Engine, now: datetime, zone: ZoneInfo) -> Listing:
    """The sessions of the clinic's day (in `zone`), marked or not, cancelled included."""
    day = local_date(now, zone)
    start, end = day_bounds(day, day, zone)
    with engine.connect() as conn:
        return _listing(conn, A.c.starts_at >= start, A.c.starts_at < end, A.c.status.in_(MARKABLE))


def awaiting_marks(engine: Engine, now: datetime, zone: ZoneInfo) -> Listing:
    """Sessions of the last AWAITING_DAYS clinic days, still on and never marked, newest
    first: Today lists them until someone marks them."""
    today = local_date(now, zone)
    start, _ = day_bounds(today - timedelta(days=AWAITING_DAYS), today, zone)
    end, _ = day_bounds(today, today, zone)
    where = (
        A.c.starts_at >= start,
        A.c.starts_at < end,
        A.c.status.in_(LIVE),
        A.c.attendance.is_(None),
    )
    with engine.connect() as conn:
        found = _listing(conn, *where, order="desc")
    # The query is the rule's own condition; the rule says it once more, in one place.
    rows = [r for r in found.rows if awaits_mark(r.starts_at, r.attendance, True, zone, now)]
    return Listing(rows, found.total - (len(found.rows) - len(rows)))


def patient_sessions(
    engine: Engine, patient_id: int, now: datetime
) -> tuple[list[SessionRow], list[SessionRow]]:
    """(recent, coming): the patient's sessions begun in the last PATIENT_PAST_DAYS days,
    newest first, with their marks and moves; and those still ahead, soonest first."""
    since = now - timedelta(days=PATIENT_PAST_DAYS)
    moved = A.alias("moved")
    query = (
        select(A, moved.c.starts_at.label("moved_to_at"))
        .outerjoin(moved, moved.c.id == A.c.moved_to)
        .where(A.c.patient_id == patient_id, A.c.starts_at >= since)
        .where(A.c.status.in_((*MARKABLE, AppointmentStatus.MOVED)))
    )
    with engine.connect() as conn:
        zone = conn.execute(select(P.c.timezone).where(P.c.id == patient_id)).scalar_one()
        rows = conn.execute(query.order_by(A.c.starts_at).limit(SHOWN)).all()
    found = [
        SessionRow(
            r.id,
            r.starts_at,
            r.status,
            r.attendance,
            r.source,
            "",
            "",
            zone,
            r.moved_to_at,
            r.feed_ref,
        )
        for r in rows
    ]
    recent = [s for s in found if s.starts_at <= now and s.status != AppointmentStatus.MOVED]
    coming = [s for s in found if s.starts_at > now]
    return recent[::-1], coming


def marks_for(row: SessionRow, now: datetime) -> list[tuple[str, str]]:
    """The marks staff may give a session now, (value, label): attended and no-show only
    once it has begun; no cancellation of a session the clinic's system keeps (it is
    cancelled there, and the feed brings the cancellation)."""
    begun = row.starts_at <= now
    return [
        (str(mark), mark.word.replace("-", " ").capitalize())
        for mark in Attendance
        if (begun or mark.cancels) and not (mark.cancels and row.from_feed)
    ]


def session_row(engine: Engine, appointment_id: int) -> SessionRow | None:
    """One session as the lists show it (after a mark, for the row to be redrawn)."""
    with engine.connect() as conn:
        found = _listing(conn, A.c.id == appointment_id)
    return found.rows[0] if found.rows else None
