"""What a reply's interpretation does: consent, appointments, waitlist offers, observations,
escalations, applied in the transaction that processes the reply."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from outreach.db.tables import appointment_table, escalations, observations
from outreach.patients import consent
from outreach.rules.replies.answers import REPLY_WINDOW_HOURS
from outreach.rules.replies.outcome import (
    Action,
    DeclineSlot,
    Escalate,
    GrantConsent,
    Observe,
    OptIn,
    OptOut,
    SetAppointment,
    TakeSlot,
)
from outreach.rules.vocabulary import AppointmentStatus, Question
from outreach.sessions import waitlist_answers

log = logging.getLogger("outreach.inbound")

OBSERVE = observations.insert()
ANSWERABLE = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)


@dataclass(frozen=True)
class Instead:
    """The reply text an action's result calls for in place of the one its words chose: a
    YES that came after someone else's took the slot is told it has gone."""

    of: str
    reply: str


def apply(
    conn: Connection, action: object, patient_id: int, inbound_id: int, now: datetime
) -> Instead | None:
    match action:
        case GrantConsent():
            consent.grant(conn, patient_id, now, "sms", "YES")
        case OptOut(keyword=keyword):
            consent.opt_out(conn, patient_id, now, "sms", keyword)
        case OptIn(keyword=keyword):
            consent.opt_in(conn, patient_id, now, "sms", keyword)
        case SetAppointment(appointment_id=appointment_id, status=status):
            conn.execute(
                update(appointment_table)
                .where(
                    appointment_table.c.id == appointment_id,
                    appointment_table.c.patient_id == patient_id,
                    # Only a session still on: a late answer never brings back one that
                    # was cancelled or moved (its question is closed then, too).
                    appointment_table.c.status.in_(ANSWERABLE),
                )
                .values(status=status, updated_at=now)
            )
        case Observe(kind=kind, value=value):
            conn.execute(
                OBSERVE,
                {
                    "patient_id": patient_id,
                    "inbound_id": inbound_id,
                    "kind": kind,
                    "value": value,
                    "at": now,
                },
            )
        case Escalate(severity=severity, reason=reason, detail=detail):
            escalate(conn, patient_id, inbound_id, Escalate(severity, reason, detail), now)
        case TakeSlot(offer_id=offer_id):
            taken = waitlist_answers.take(conn, offer_id, patient_id, now)
            if taken is not None and not taken.won:
                return Instead("slot_taken", "slot_gone")
        case DeclineSlot(offer_id=offer_id):
            waitlist_answers.decline(conn, offer_id, patient_id, now)
        case _:
            raise TypeError(f"unknown action {action!r}")
    return None


def reply_values(conn: Connection, actions: tuple[Action, ...], zone: str) -> dict[str, Any]:
    """What the reply to an answer of a waitlist offer says of the slot: its start."""
    for action in actions:
        if isinstance(action, TakeSlot | DeclineSlot):
            starts_at = waitlist_answers.offer_starts_at(conn, action.offer_id)
            if starts_at is not None:
                return {"starts_at": starts_at.astimezone(ZoneInfo(zone))}
    return {}


def escalate(
    conn: Connection, patient_id: int, inbound_id: int, escalation: Escalate, now: datetime
) -> None:
    """Raise an escalation, or, for a foot follow-up answer, settle the open 'foot_problem'
    one it belongs to, keeping its first report time (time since reported counts from it)."""
    values = {
        "severity": escalation.severity,
        "reason": escalation.reason,
        "detail": escalation.detail,
        "inbound_id": inbound_id,
    }
    if escalation.reason.startswith("foot_") and escalation.reason != "foot_problem":
        window = now - timedelta(hours=REPLY_WINDOW_HOURS[Question.FOOT_FOLLOWUP])
        open_report = conn.execute(
            select(escalations.c.id)
            .where(
                escalations.c.patient_id == patient_id,
                escalations.c.reason == "foot_problem",
                escalations.c.resolved_at.is_(None),
                escalations.c.created_at >= window,
            )
            .order_by(escalations.c.created_at.desc())
            .limit(1)
        ).scalar()
        if open_report is not None:
            conn.execute(
                update(escalations).where(escalations.c.id == open_report).values(**values)
            )
            log.warning(
                "escalation %s is now %s: %s", open_report, escalation.severity, escalation.reason
            )
            return
    conn.execute(escalations.insert().values(patient_id=patient_id, created_at=now, **values))
    log.warning(
        "%s escalation for patient %s: %s", escalation.severity, patient_id, escalation.reason
    )
