"""A patient named the way staff name one at a terminal: the clinic's patient id, or the phone
number in any spelling ("(617) 555-0142", "+1 617 555 0142"), read as the enrolment reads
it, in the clinic's own country (rules/phones.as_e164)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from outreach.db.tables import patients
from outreach.patients.enrolment import clinic_region
from outreach.rules.phones import as_e164


def patient_keys(typed: str, clinic_phone: str) -> list[str]:
    """What to look a patient up by, in order: the text as typed (a clinic id, or a number
    already in E.164), then, if it reads as a phone number ('(617) 555-0142'), that number
    in E.164 as it is stored. A number without '+' is read in the clinic's country."""
    typed = typed.strip()
    phone = as_e164(typed, clinic_region(clinic_phone))
    return [typed] if phone is None or phone == typed else [typed, phone]


def patient_id_for(conn: Connection, reference: str, clinic_phone: str) -> int | None:
    """The patient's row id, or None if no patient has that id or number. An id wins over a
    phone number that happens to read the same."""
    for key in patient_keys(reference, clinic_phone):
        found = conn.execute(
            select(patients.c.id).where(or_(patients.c.external_id == key, patients.c.phone == key))
        ).scalar()
        if found is not None:
            return int(found)
    return None
