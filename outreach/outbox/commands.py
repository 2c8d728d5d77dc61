"""What the rest of the house asks of reminder rows: request consent, skip what is pending,
supersede a plan, replan a patient, cancel and restore an appointment's reminders.

Each runs in the caller's transaction, beside the change that prompted it (an opt-out, an
edit, a cancelled session), so the two commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db import dialect
from outreach.db.tables import Patient, appointment_table, care_plans, outbound_messages, reminders
from outreach.rules.localtime import patient_quiet_hours, place_outside_quiet
from outreach.rules.stafftexts import EXPIRES_AFTER as STAFF_TEXT_EXPIRES_AFTER
from outreach.rules.vocabulary import (
    AppointmentStatus,
    Question,
    ReminderKind,
    ReminderState,
    SkipReason,
)

CONSENT_REPLY_DAYS = 30

R = reminders
A = appointment_table
OUT = outbound_messages
P = care_plans


def request_consent(
    conn: Connection,
    settings: Settings,
    patient: Patient,
    now: datetime,
    occurrence: str = "enrolment",
) -> None:
    """Queue the consent text: the first and, until YES, the only message to a number."""
    zone = ZoneInfo(patient.timezone)
    expires = now + timedelta(days=CONSENT_REPLY_DAYS)
    quiet = patient_quiet_hours(patient.quiet_hours, settings.quiet_hours)
    send_at = place_outside_quiet(now, zone, quiet, expires, now) or now
    row = {
        "patient_id": patient.id,
        "kind": ReminderKind.CONSENT,
        "occurrence": occurrence,
        "appointment_id": None,
        "send_at": send_at,
        "expires_at": expires,
        "state": ReminderState.PENDING,
        "skip_reason": None,
        "plan_version": 0,
        "created_at": now,
        "updated_at": now,
    }
    conn.execute(dialect.insert(conn, R).on_conflict_do_nothing(), [row])


def skip_pending(
    conn: Connection, patient_id: int, reason: str, now: datetime, *, keep_consent: bool
) -> int:
    """Skip a patient's pending reminders (opt-out, pause, plan edit). Claimed rows are
    already in flight, and the dispatcher re-checks its guards before it sends. A text staff
    wrote is no reminder: only an opt-out stops it (the planner would never bring it back)."""
    query = update(R).where(R.c.patient_id == patient_id, R.c.state == ReminderState.PENDING)
    kept = [ReminderKind.CONSENT] if keep_consent else []
    if reason != SkipReason.OPTED_OUT:
        kept.append(ReminderKind.STAFF)
    if kept:
        query = query.where(R.c.kind.notin_(kept))
    result = conn.execute(
        query.values(state=ReminderState.SKIPPED, skip_reason=reason, updated_at=now)
    )
    return int(result.rowcount or 0)


def supersede_plan(conn: Connection, plan_id: int, patient_id: int, now: datetime) -> None:
    """After an edit: future reminders and plan-made appointments give way to the new plan,
    which the next planner run materialises."""
    # The plan first: if a planner batch holds it (see planning/planner.py's _hold), this
    # waits for that batch to commit, and the skips below then reach what the batch wrote.
    conn.execute(
        update(P)
        .where(P.c.id == plan_id)
        .values(version=P.c.version + 1, planned_until=None, updated_at=now)
    )
    skip_pending(conn, patient_id, SkipReason.SUPERSEDED, now, keep_consent=True)
    conn.execute(
        update(A)
        .where(
            A.c.patient_id == patient_id,
            A.c.source == "plan",
            A.c.status == AppointmentStatus.SCHEDULED,
            A.c.starts_at > now,
        )
        .values(status=AppointmentStatus.SUPERSEDED, updated_at=now)
    )


def replan(conn: Connection, patient_id: int, now: datetime) -> None:
    """Make the next planner run recompute a patient's plan. Call it whenever a patient
    becomes textable again: consent, opt-in, resuming after a pause."""
    conn.execute(
        update(P).where(P.c.patient_id == patient_id).values(planned_until=None, updated_at=now)
    )


def cancel_appointment(
    conn: Connection,
    appointment_id: int,
    now: datetime,
    reason: SkipReason = SkipReason.CANCELLED,
) -> None:
    """Skip the pending reminders of a session that was cancelled (or, with `reason`
    SUPERSEDED, moved), and close the question a sent reminder asked about it: a "C" to a
    reminder of a session that is off confirms nothing and goes to staff as unclear."""
    conn.execute(
        update(R)
        .where(
            R.c.appointment_id == appointment_id,
            R.c.state == ReminderState.PENDING,
        )
        .values(state=ReminderState.SKIPPED, skip_reason=reason, updated_at=now)
    )
    conn.execute(
        update(OUT)
        .where(
            OUT.c.prompt_ref == appointment_id,
            OUT.c.prompt == Question.SESSION,
            OUT.c.answered_at.is_(None),
            OUT.c.reply_until > now,
        )
        .values(reply_until=now)
    )


def restore_appointment(conn: Connection, appointment_id: int, now: datetime) -> None:
    """A cancelled session entered again: its reminders, skipped as cancelled (final to the
    planner), are marked superseded, so the next planner run makes them again."""
    conn.execute(
        update(R)
        .where(
            R.c.appointment_id == appointment_id,
            R.c.state == ReminderState.SKIPPED,
            R.c.skip_reason == SkipReason.CANCELLED,
        )
        .values(skip_reason=SkipReason.SUPERSEDED, updated_at=now)
    )


def queue_text(
    conn: Connection,
    patient_id: int,
    kind: ReminderKind,
    occurrence: str,
    send_at: datetime,
    expires_at: datetime,
    now: datetime,
    appointment_id: int | None = None,
) -> int | None:
    """Put a one-off text in the outbox (a no-show's, a moved session's new time, a waitlist
    offer and its "it has gone"), sent through the same claims, rate, guards and record as
    every reminder. Once per (patient, kind, occurrence), ever: returns its id, or None when
    it was queued before."""
    row = {
        "patient_id": patient_id,
        "kind": kind,
        "occurrence": occurrence,
        "appointment_id": appointment_id,
        "send_at": send_at,
        "expires_at": expires_at,
        "state": ReminderState.PENDING,
        "skip_reason": None,
        "plan_version": 0,
        "created_at": now,
        "updated_at": now,
    }
    made = conn.execute(
        dialect.insert(conn, R).on_conflict_do_nothing().returning(R.c.id), row
    ).scalar()
    return None if made is None else int(made)


def queue_staff_text(
    conn: Connection, patient_id: int, message_id: int, send_at: datetime, now: datetime
) -> int:
    """Put a text staff wrote (staffmessage `message_id`) in the outbox, to go at `send_at`
    through the same claims, rate, guards and record as every reminder. Returns its id."""
    return int(
        conn.execute(
            R.insert()
            .values(
                patient_id=patient_id,
                kind=ReminderKind.STAFF,
                occurrence=f"staff:{message_id}",
                send_at=send_at,
                expires_at=now + STAFF_TEXT_EXPIRES_AFTER,
                state=ReminderState.PENDING,
                created_at=now,
                updated_at=now,
            )
            .returning(R.c.id)
        ).scalar_one()
    )
