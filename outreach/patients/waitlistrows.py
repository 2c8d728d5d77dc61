"""The one writer of `waitlistentry` rows: a patient's entry put, changed or removed. Who
may be put on the list and the audit are the callers' (sessions/waitlist.py for staff
actions, patients/upsert.py for the form and the CSV import)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from outreach.db.tables import waitlist_entries
from outreach.rules.schedule import parse_weekdays
from outreach.rules.waitlist import Availability

W = waitlist_entries


def read(conn: Connection, patient_id: int) -> Availability | None:
    found = conn.execute(
        select(W.c.weekdays, W.c.earliest, W.c.latest).where(W.c.patient_id == patient_id)
    ).first()
    if found is None:
        return None
    return Availability(parse_weekdays(found.weekdays), found.earliest, found.latest)


def put(
    conn: Connection, patient_id: int, free: Availability, added_by: int | None, now: datetime
) -> tuple[Availability | None, bool]:
    """Make the patient's entry say `free`: (what it said before, whether it changed). A
    change keeps `added_at`: new hours do not lose a patient their place in the queue."""
    before = read(conn, patient_id)
    if before == free:
        return before, False
    values = {"weekdays": free.days_text, "earliest": free.earliest, "latest": free.latest}
    if before is None:
        conn.execute(
            W.insert().values(
                patient_id=patient_id, added_at=now, added_by=added_by, updated_at=now, **values
            )
        )
    else:
        conn.execute(update(W).where(W.c.patient_id == patient_id).values(updated_at=now, **values))
    return before, True


def remove(conn: Connection, patient_id: int) -> bool:
    return bool(conn.execute(delete(W).where(W.c.patient_id == patient_id)).rowcount)


def follow(
    conn: Connection,
    patient_id: int,
    free: Availability | None,
    now: datetime,
    *,
    blank_removes: bool,
) -> bool:
    """The entry as a form or a file row describes it; True if that changed it. Blank
    waitlist fields take a patient off the list when the form says so (`blank_removes`);
    in a file they leave the entry as it is: a file from a system that knows nothing of the
    waitlist must not empty it."""
    if free is not None:
        return put(conn, patient_id, free, None, now)[1]
    return remove(conn, patient_id) if blank_removes else False
