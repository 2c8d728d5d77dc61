"""Finding a patient from what staff type: the clinic's id, or the phone in any spelling."""

from __future__ import annotations

from outreach.config import Settings


def patient_keys(typed: str, settings: Settings) -> list[str]:
    """What to look a patient up by, in order: the text as typed (a clinic id, or a number
    already in E.164), then, if it reads as a phone number ('(617) 555-0142'), that number
    in E.164 as it is stored. A number without '+' is read in the clinic's country."""
    from outreach.patients.enrolment import clinic_region
    from outreach.rules.phones import as_e164

    phone = as_e164(typed, clinic_region(settings.clinic_phone))
    return [typed] if phone is None or phone == typed else [typed, phone]
