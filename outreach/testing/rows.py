"""Rows for seeding tests and benchmarks in bulk, faster than enrolling through the import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outreach.models import ConsentState


def consenting_patient(
    id: int, external_id: str, phone: str, timezone: str, now: datetime, language: str = "en"
) -> dict[str, Any]:
    """A `patient` row that has answered YES and is neither opted out nor paused."""
    return {
        "id": id,
        "external_id": external_id,
        "first_name": "Ana",
        "last_name": "Torres",
        "phone": phone,
        "timezone": timezone,
        "language": language,
        "consent_state": ConsentState.GRANTED,
        "opted_out": False,
        "paused": False,
        "pain_baseline": 2,
        "created_at": now,
        "updated_at": now,
    }
