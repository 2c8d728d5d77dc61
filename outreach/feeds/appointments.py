"""One appointment as the clinic's system states it, applied to outreach's sessions.

Both feeds (HL7 SIU messages, FHIR Appointment resources) turn what they receive into a
`FeedAppointment` and call `apply` in their own transaction, then `settle` after the commit
so the reminders follow at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.rules.vocabulary import AppointmentSource, FeedOutcome, FeedStatus


@dataclass(frozen=True)
class FeedAppointment:
    source: AppointmentSource  # HL7 or FHIR
    ref: str  # the system's own id of the appointment (SCH-2/SCH-1, Appointment.id)
    patient_ref: str  # the clinic's id of the patient: matched against patient.external_id
    status: FeedStatus
    starts_at: datetime | None  # aware; None when the message gives no time
    changed_at: datetime | None = None  # when the system made the change (MSH-7, lastUpdated)
    patient_name: str = ""
    phone: str | None = None
    cancelled_by_patient: bool | None = None  # None: the system does not say who


class NotApplied(ValueError):
    """The content is wrong, in words for the sender and staff (HL7 AE)."""


@dataclass(frozen=True)
class Applied:
    outcome: FeedOutcome  # APPLIED, UNMATCHED or UNCHANGED
    appointment_id: int | None
    detail: str  # what was done, in words


def apply(conn: Connection, settings: Settings, item: FeedAppointment, now: datetime) -> Applied:
    """Apply one appointment in the caller's transaction; raises NotApplied."""
    raise NotImplementedError  # being written: see the issue


def settle(engine: Engine, settings: Settings, now: datetime) -> None:
    """After the commit: plan the reminders of what was applied, now."""
    raise NotImplementedError
