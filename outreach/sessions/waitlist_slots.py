"""The slots of cancelled sessions and their offers to the waitlist: a slot opens when a
session is cancelled with enough notice; each tick offers every open slot without a live
offer to the next few matching patients, expires offers nobody answered, and closes slots
nobody can take any more. Answers are in sessions/waitlist_answers.py.

Offers go out as SLOT_OFFER reminders through the outbox, so the dispatcher keeps to quiet
hours, the daily cap and the send rate, and skips an offer whose slot was taken or closed
meanwhile (sending/about.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, exists, select, update
from sqlalchemy.engine import Connection

from outreach.config import Settings
from outreach.db import dialect
from outreach.db.tables import (
    appointment_table,
    open_slots,
    patients,
    reminders,
    slot_offers,
    waitlist_entries,
)
from outreach.outbox import commands
from outreach.rules.attendance import frees_slot
from outreach.rules.localtime import patient_quiet_hours
from outreach.rules.schedule import parse_weekdays
from outreach.rules.vocabulary import (
    AppointmentStatus,
    ConsentState,
    OfferState,
    ReminderKind,
    ReminderState,
    SlotState,
)
from outreach.rules.waitlist import (
    Availability,
    Candidate,
    matching,
    next_round,
    offer_expires,
    slot_occurrence,
    still_offered,
)

log = logging.getLogger("outreach.waitlist")

A = appointment_table
S = open_slots
O = slot_offers  # noqa: E741
W = waitlist_entries
P = patients
R = reminders
# Sessions that still stand: a patient with one of these on the slot's day is not offered it.
STANDING = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.RESCHEDULE_REQUESTED,
)
NOBODY_MATCHES = "nobody on the waitlist matches"
NOBODY_TOOK_IT = "nobody took it"
TOO_LATE = "too close to its start"
RESTORED = "the cancelled session was restored"


# An offer text in these states reached the patient, or is on its way: they hear it has gone.
TOLD = (ReminderState.SENT, ReminderState.CLAIMED)


@dataclass
class OfferReport:
    offered: int = 0  # offers made
    told_gone: int = 0  # "it has gone" texts queued
    expired: int = 0  # offers that lapsed unanswered
    closed: dict[str, int] = field(default_factory=dict)  # slots closed, by why


def open_slot(conn: Connection, settings: Settings, appointment: Any, now: datetime) -> int | None:
    """A session just cancelled (`appointment`: id, starts_at, cancelled_at or None for now)
    frees its slot for the waitlist if it was cancelled with at least min_notice_hours of
    notice. Returns the slot's id, or None. Once per session: cancelling again changes
    nothing."""
    cancelled_at = getattr(appointment, "cancelled_at", None) or now
    starts_at = appointment.starts_at
    notice = settings.waitlist_min_notice_hours
    if starts_at <= now or not frees_slot(starts_at, cancelled_at, notice):
        return None
    if not still_offered(starts_at, now, notice):
        return None
    made = conn.execute(
        dialect.insert(conn, S)
        .on_conflict_do_nothing()
        .returning(S.c.id)
        .values(
            appointment_id=appointment.id,
            starts_at=starts_at,
            opened_at=now,
            state=SlotState.OPEN,
        )
    ).scalar()
    if made is None:
        return None
    log.info("slot %s opened for the waitlist (session %s)", made, appointment.id)
    return int(made)


def withdraw_slot(conn: Connection, appointment_id: int, now: datetime) -> None:
    """A cancellation corrected: its slot, if still open, is offered no more."""
    _close(conn, S.c.appointment_id == appointment_id, RESTORED, now)


def offer_open_slots(engine: Engine, settings: Settings, now: datetime) -> OfferReport:
    """The worker's tick: lapse the offers nobody answered, close the slots too close to
    their start, and offer each open slot without a live offer to its next round."""
    report = OfferReport()
    with engine.begin() as conn:
        report.told_gone = tell_gone(conn, now)
    with engine.begin() as conn:
        report.expired = int(
            conn.execute(
                update(O)
                .where(O.c.state == OfferState.OFFERED, O.c.expires_at <= now)
                .values(state=OfferState.EXPIRED)
            ).rowcount
            or 0
        )
        closes_by = now + timedelta(hours=settings.waitlist_min_notice_hours)
        late = _close(conn, S.c.starts_at <= closes_by, TOO_LATE, now)
        if late:
            report.closed[TOO_LATE] = late
        live = exists().where(
            O.c.slot_id == S.c.id, O.c.state == OfferState.OFFERED, O.c.expires_at > now
        )
        waiting = (
            conn.execute(select(S.c.id).where(S.c.state == SlotState.OPEN, ~live).order_by(S.c.id))
            .scalars()
            .all()
        )
    for slot_id in waiting:
        with engine.begin() as conn:
            made, why = _offer(conn, settings, slot_id, now)
        report.offered += made
        if why is not None:
            report.closed[why] = report.closed.get(why, 0) + 1
    return report


def _offer(
    conn: Connection, settings: Settings, slot_id: int, now: datetime
) -> tuple[int, str | None]:
    """Offer one slot to its next round; (offers made, why it closed or None)."""
    # Held until commit: a second worker ticking at once waits, then finds the live offers.
    slot = conn.execute(
        select(S.c.id, S.c.starts_at, S.c.state, A.c.patient_id)
        .join(A, A.c.id == S.c.appointment_id)
        .where(S.c.id == slot_id)
        .with_for_update(of=S)
    ).first()
    if slot is None or slot.state != SlotState.OPEN:
        return 0, None
    offers = conn.execute(
        select(O.c.patient_id, O.c.state, O.c.expires_at, O.c.round).where(O.c.slot_id == slot_id)
    ).all()
    if any(o.state == OfferState.OFFERED and o.expires_at > now for o in offers):
        return 0, None
    offered = {o.patient_id for o in offers}
    matches = matching(
        candidates(conn, settings, slot.starts_at), slot.starts_at, offered | {slot.patient_id}
    )
    if not matches:
        why = NOBODY_TOOK_IT if offers else NOBODY_MATCHES
        _close(conn, S.c.id == slot_id, why, now)
        return 0, why
    chosen = next_round(matches, now, settings.waitlist_offers_at_once)
    round_no = max((o.round for o in offers), default=0) + 1
    expires_at = offer_expires(
        now, slot.starts_at, settings.waitlist_offer_minutes, settings.waitlist_min_notice_hours
    )
    for candidate in chosen:
        reminder_id = commands.queue_text(
            conn,
            candidate.patient_id,
            ReminderKind.SLOT_OFFER,
            slot_occurrence(slot_id),
            now,
            expires_at,
            now,
        )
        conn.execute(
            O.insert().values(
                slot_id=slot_id,
                patient_id=candidate.patient_id,
                round=round_no,
                reminder_id=reminder_id,
                state=OfferState.OFFERED,
                offered_at=now,
                expires_at=expires_at,
            )
        )
    if chosen:
        log.info("slot %s offered to %d patients (round %d)", slot_id, len(chosen), round_no)
    return len(chosen), None


def candidates(conn: Connection, settings: Settings, starts_at: datetime) -> list[Candidate]:
    """Everyone on the waitlist who may be texted, with their standing sessions within a
    day of the slot (enough to see a clash on the slot's local day in any zone)."""
    rows = conn.execute(
        select(
            W.c.patient_id,
            W.c.weekdays,
            W.c.earliest,
            W.c.latest,
            W.c.added_at,
            P.c.timezone,
            P.c.quiet_hours,
        )
        .join(P, P.c.id == W.c.patient_id)
        .where(
            P.c.consent_state == ConsentState.GRANTED,
            P.c.opted_out.is_(False),
            P.c.paused.is_(False),
        )
    ).all()
    if not rows:
        return []
    near = conn.execute(
        select(A.c.patient_id, A.c.starts_at).where(
            A.c.patient_id.in_([r.patient_id for r in rows]),
            A.c.status.in_(STANDING),
            A.c.starts_at > starts_at - timedelta(days=1),
            A.c.starts_at < starts_at + timedelta(days=1),
        )
    ).all()
    sessions: dict[int, list[datetime]] = {}
    for s in near:
        sessions.setdefault(s.patient_id, []).append(s.starts_at)
    return [
        Candidate(
            r.patient_id,
            r.added_at,
            Availability(parse_weekdays(r.weekdays), r.earliest, r.latest),
            ZoneInfo(r.timezone),
            tuple(sessions.get(r.patient_id, ())),
            patient_quiet_hours(r.quiet_hours, settings.quiet_hours),
        )
        for r in rows
    ]


def tell_gone(conn: Connection, now: datetime) -> int:
    """Queue one "it has gone" text to each patient whose offer another patient's YES ended,
    if the offer text reached them and the slot is still ahead. Not to the ones who answered
    YES too late (answered_at): their reply said so. Once each: the outbox's unique key
    ignores the same text queued again (slots still ahead are few)."""
    rows = conn.execute(
        select(O.c.slot_id, O.c.patient_id, S.c.starts_at)
        .join(S, S.c.id == O.c.slot_id)
        .join(R, R.c.id == O.c.reminder_id)
        .where(
            S.c.state == SlotState.TAKEN,
            S.c.starts_at > now,
            O.c.state == OfferState.GONE,
            O.c.answered_at.is_(None),
            R.c.state.in_(TOLD),
        )
    ).all()
    made = 0
    for row in rows:
        occurrence = slot_occurrence(row.slot_id)
        if commands.queue_text(
            conn, row.patient_id, ReminderKind.SLOT_GONE, occurrence, now, row.starts_at, now
        ):
            made += 1
    return made


def _close(conn: Connection, which: Any, why: str, now: datetime) -> int:
    """Close the open slots `which` selects; their live offers lapse (a pending offer text
    is skipped by its guard: the slot is no longer open)."""
    closed = (
        conn.execute(
            update(S)
            .where(which, S.c.state == SlotState.OPEN)
            .values(state=SlotState.CLOSED, closed_at=now, closed_why=why)
            .returning(S.c.id)
        )
        .scalars()
        .all()
    )
    if closed:
        conn.execute(
            update(O)
            .where(O.c.slot_id.in_(closed), O.c.state == OfferState.OFFERED)
            .values(state=OfferState.EXPIRED)
        )
        log.info("closed %d waitlist slots: %s", len(closed), why)
    return len(closed)
