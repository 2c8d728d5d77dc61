"""What a reminder is about: the session or waitlist offer it names, whether that still
wants the text, and what the text says of it.

Asked before a reminder is rendered and again after its wait for a send slot, so a session
cancelled (by either side) or moved meanwhile, a no-show mark corrected to attended, or a
slot another patient took, stops the text at once, never later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from outreach.db.tables import appointment_table, open_slots, slot_offers
from outreach.rules.replies.answers import REPLY_WINDOW_HOURS
from outreach.rules.vocabulary import (
    AppointmentStatus,
    Attendance,
    OfferState,
    Question,
    ReminderKind,
    SlotState,
)
from outreach.rules.waitlist import slot_occurrence as slot_occurrence

A = appointment_table
LIVE_APPOINTMENT = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)
# The kinds whose text asks a question, by the question it asks (the outbound `prompt`).
ASKS: dict[str, Question] = {
    ReminderKind.CONSENT: Question.CONSENT,
    ReminderKind.SESSION: Question.SESSION,
    ReminderKind.FOOT_CHECK: Question.FOOT_CHECK,
    ReminderKind.EXERCISE: Question.EXERCISE,
    ReminderKind.NO_SHOW: Question.NO_SHOW,
    ReminderKind.SLOT_OFFER: Question.SLOT_OFFER,
}


@dataclass(frozen=True)
class About:
    wanted: bool  # False: the session or offer it is about no longer wants this text
    starts_at: datetime | None = None  # the session's (or slot's) start, UTC
    prompt_ref: int | None = None  # what an answer to it is about: an appointment, an offer
    reply_until: datetime | None = None  # None: the reply window of its kind from the send
    values: dict[str, Any] = field(default_factory=dict)  # more for its template


def about(conn: Connection, row: Any, now: datetime) -> About:
    """`row` is a claimed reminder (outbox/claims.py): kind, appointment_id, occurrence,
    patient_id."""
    kind = row.kind
    if kind in (ReminderKind.SLOT_OFFER, ReminderKind.SLOT_GONE):
        return _slot(conn, row, now)
    if row.appointment_id is None:
        return About(wanted=True)
    found = conn.execute(
        select(A.c.starts_at, A.c.status, A.c.attendance).where(A.c.id == row.appointment_id)
    ).first()
    if found is None:
        return About(wanted=False)
    if kind == ReminderKind.NO_SHOW:
        # Sent only while the mark stands: a mark corrected to attended stops it.
        return About(
            wanted=found.attendance == Attendance.NO_SHOW,
            starts_at=found.starts_at,
            prompt_ref=row.appointment_id,
        )
    live = found.status in LIVE_APPOINTMENT and found.attendance is None
    if kind == ReminderKind.SESSION:
        return About(live, found.starts_at, row.appointment_id, reply_until=found.starts_at)
    return About(live, found.starts_at, row.appointment_id)  # session_moved: its new time


def _slot(conn: Connection, row: Any, now: datetime) -> About:
    """A waitlist offer goes while the slot is open and the offer stands; "it has gone"
    goes to a patient whose offer someone else's YES ended."""
    slot_id = int(str(row.occurrence).removeprefix("slot:"))
    found = conn.execute(
        select(open_slots.c.starts_at, open_slots.c.state, slot_offers.c.id)
        .add_columns(slot_offers.c.state.label("offer_state"), slot_offers.c.expires_at)
        .join(slot_offers, slot_offers.c.slot_id == open_slots.c.id)
        .where(open_slots.c.id == slot_id, slot_offers.c.patient_id == row.patient_id)
    ).first()
    if found is None:
        return About(wanted=False)
    if row.kind == ReminderKind.SLOT_GONE:
        return About(wanted=found.starts_at > now, starts_at=found.starts_at)
    wanted = (
        found.state == SlotState.OPEN
        and found.offer_state == OfferState.OFFERED
        and now < found.expires_at
    )
    return About(
        wanted,
        found.starts_at,
        prompt_ref=found.id,
        reply_until=found.expires_at,
        values={"until": found.expires_at},
    )


def reply_until(kind: str, told: About, now: datetime) -> datetime | None:
    """Until when an answer binds to this text; None for a text that asks nothing."""
    if kind not in ASKS:
        return None
    if told.reply_until is not None:
        return told.reply_until
    return now + timedelta(hours=REPLY_WINDOW_HOURS[ASKS[kind]])
