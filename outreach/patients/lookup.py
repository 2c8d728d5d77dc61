"""A patient named the way staff name one at a terminal: the clinic's patient id, or the phone
number in any spelling ("(617) 555-0142", "+1 617 555 0142"), read as the enrolment reads
it, in the clinic's own country (rules/phones.as_e164)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from outreach.db.tables import patients
from outreach.patients.enrolment import clinic_region
from outreach.rules.phones import as_e164


def patient_id_for(conn: Connection, reference: str, clinic_phone: str) -> int | None:
    """The patient's row id, or None if no patient has that id or number."""
    reference = reference.strip()
    by_id = conn.execute(select(patients.c.id).where(patients.c.external_id == reference)).scalar()
    if by_id is not None:
        return int(by_id)
    e164 = as_e164(reference, clinic_region(clinic_phone))
    if e164 is None:
        return None
    by_phone = conn.execute(select(patients.c.id).where(patients.c.phone == e164)).scalar()
    return None if by_phone is None else int(by_phone)
