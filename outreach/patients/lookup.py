"""A patient named the way staff name one at a terminal: the clinic's patient id, or the phone
number in any spelling ("(617) 555-0142", "617.555.0142", "+1 617 555 0142"), read with
phonenumbers in the clinic's own region as the enrolment does."""

from __future__ import annotations

import phonenumbers
from sqlalchemy import select
from sqlalchemy.engine import Connection

from outreach.db.tables import patients
from outreach.patients.enrolment import clinic_region


def patient_id_for(conn: Connection, reference: str, clinic_phone: str) -> int | None:
    """The patient's row id, or None if no patient has that id or number."""
    reference = reference.strip()
    by_id = conn.execute(select(patients.c.id).where(patients.c.external_id == reference)).scalar()
    if by_id is not None:
        return int(by_id)
    e164 = as_e164(reference, clinic_phone)
    if e164 is None:
        return None
    by_phone = conn.execute(select(patients.c.id).where(patients.c.phone == e164)).scalar()
    return None if by_phone is None else int(by_phone)


def as_e164(text: str, clinic_phone: str) -> str | None:
    """'(617) 555-0142' -> '+16175550142' in a US clinic; None if it is no phone number."""
    try:
        number = phonenumbers.parse(text, clinic_region(clinic_phone))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
