"""Rows for seeding tests and benchmarks in bulk, faster than enrolling through the import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from outreach.rules.vocabulary import ConsentState
from outreach.testing.twilio_records import new_sid


def delivered_prompt(
    patient_id: int,
    prompt: str,
    to_phone: str,
    body: str,
    asked: datetime,
    reply_until: datetime,
    **columns: Any,
) -> dict[str, Any]:
    """An `outboundmessage` row for a question Twilio delivered at `asked`; `columns` adds
    or overrides any other column (an explicit id, a prompt_ref)."""
    return {
        "patient_id": patient_id,
        "template": prompt,
        "prompt": prompt,
        "reply_until": reply_until,
        "to_phone": to_phone,
        "body": body,
        "encoding": "GSM-7",
        "segments": 1,
        "counts_toward_cap": True,
        "provider": "twilio",
        "provider_sid": new_sid("SM"),
        "status": "delivered",
        "created_at": asked,
        "sent_at": asked,
        **columns,
    }


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
