"""Finding a patient from what staff type: the clinic's id, or the phone in any spelling.
The rule is patients/lookup.py's; imported when a command runs, so `outreach --help` loads
no database code."""

from __future__ import annotations

from outreach.config import Settings


def patient_keys(typed: str, settings: Settings) -> list[str]:
    """patients/lookup.patient_keys with the clinic's phone from the settings."""
    from outreach.patients.lookup import patient_keys as keys

    return keys(typed, settings.clinic_phone)
