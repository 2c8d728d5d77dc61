"""The waitlist's entries: staff put a patient on it with the weekdays and hours they could
come at short notice, change those, or take them off. Every change is audited; the rows
are written by patients/waitlistrows.py (the form and the CSV import write them too).

The slots and offers are in sessions/waitlist_slots.py; answers in waitlist_answers.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.db.tables import patients, staff_users, waitlist_entries
from outreach.patients import waitlistrows
from outreach.rules.vocabulary import ConsentState
from outreach.rules.waitlist import Availability, availability, parse_days, parse_hours

W = waitlist_entries
P = patients


class WaitlistError(ValueError):
    """Why an entry cannot be made, in words for staff; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Entry:
    patient_id: int
    external_id: str
    name: str
    days: str  # "mon,wed,fri"
    hours: str  # "08:00-12:00"
    added_at: datetime
    added_by: str | None  # username


def check(days_text: str, hours_text: str) -> Availability:
    """The two fields as staff typed them; WaitlistError names the one that is wrong."""
    try:
        parse_days(days_text)
    except ValueError as exc:
        raise WaitlistError("waitlist_days", str(exc)) from None
    try:
        parse_hours(hours_text)
    except ValueError as exc:
        raise WaitlistError("waitlist_hours", str(exc)) from None
    return availability(days_text, hours_text)


def put_on(
    conn: Connection,
    who: Staff,
    patient_id: int,
    days_text: str,
    hours_text: str,
    now: datetime,
) -> bool:
    """Put a patient on the waitlist, or change when they could come. Returns True when
    something changed. A patient who is not consented, has opted out or is paused cannot
    be offered a slot, so cannot be put on the list."""
    free = check(days_text, hours_text)
    patient = conn.execute(
        select(P.c.consent_state, P.c.opted_out, P.c.paused).where(P.c.id == patient_id)
    ).first()
    if patient is None:
        raise WaitlistError("patient", f"no patient has id {patient_id}")
    if patient.consent_state != ConsentState.GRANTED:
        raise WaitlistError("patient", "the patient has not agreed to texts yet")
    if patient.opted_out:
        raise WaitlistError("patient", "the patient asked us to stop texting")
    if patient.paused:
        raise WaitlistError("patient", "the patient's texts are paused; resume them first")
    before, changed = waitlistrows.put(conn, patient_id, free, who.id, now)
    if not changed:
        return False
    new = {"days": free.days_text, "hours": free.hours_text}
    if before is None:
        audit.record(conn, who, Action.WAITLIST_ADDED, now, patient_id, new)
    else:
        old = {"days": before.days_text, "hours": before.hours_text}
        audit.record(conn, who, Action.WAITLIST_CHANGED, now, patient_id, audit.changes(old, new))
    return True


def take_off(conn: Connection, who: Staff, patient_id: int, now: datetime) -> bool:
    """Take a patient off the waitlist; False if they were not on it. Offers already made
    stand (they were told of the slot); no new ones follow."""
    if not remove(conn, patient_id):
        return False
    audit.record(conn, who, Action.WAITLIST_REMOVED, now, patient_id, {})
    return True


def remove(conn: Connection, patient_id: int) -> bool:
    """Delete the entry (staff took them off, or they took a slot)."""
    return waitlistrows.remove(conn, patient_id)


def entry_of(conn: Connection, patient_id: int) -> Entry | None:
    rows = _entries(conn, W.c.patient_id == patient_id)
    return rows[0] if rows else None


def entries(conn: Connection) -> list[Entry]:
    """Everyone on the waitlist, longest waiting first (the order offers go in)."""
    return _entries(conn)


def _entries(conn: Connection, *where: Any) -> list[Entry]:
    S = staff_users
    rows = conn.execute(
        select(
            W.c.patient_id,
            W.c.weekdays,
            W.c.earliest,
            W.c.latest,
            W.c.added_at,
            P.c.external_id,
            P.c.first_name,
            P.c.last_name,
            S.c.username,
        )
        .join(P, P.c.id == W.c.patient_id)
        .outerjoin(S, S.c.id == W.c.added_by)
        .where(*where)
        .order_by(W.c.added_at, W.c.patient_id)
    ).all()
    return [
        Entry(
            r.patient_id,
            r.external_id,
            f"{r.first_name} {r.last_name}".strip(),
            r.weekdays,
            f"{r.earliest:%H:%M}-{r.latest:%H:%M}",
            r.added_at,
            r.username,
        )
        for r in rows
    ]
