"""A waitlisted patient's answer to an offer, applied in the transaction that processes
their reply (replies/actions.py).

YES: the first YES of a slot takes it with one conditional UPDATE of `openslot.state`, so
two answers at once can never both win (on PostgreSQL the second waits for the first to
commit, then finds the slot taken; SQLite runs one writer at a time). The winner gets a new
session at the slot's time (source waitlist, `filled_slot`), whose reminders the next
planner run makes, and leaves the waitlist: they have the session they waited for, and
staff put them back on it if they want another. Everyone else still holding an offer of
that slot is told once that it has gone (by the next tick). A YES that comes second is
told the same in its reply. NO: the offer is declined and, once no offer of the slot
stands, the next round goes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from outreach.db.tables import appointment_table, open_slots, reminders, slot_offers
from outreach.outbox import commands
from outreach.rules.vocabulary import (
    AppointmentSource,
    AppointmentStatus,
    OfferState,
    ReminderKind,
    ReminderState,
    SkipReason,
    SlotState,
)
from outreach.rules.waitlist import slot_occurrence
from outreach.sessions import waitlist

log = logging.getLogger("outreach.waitlist")

A = appointment_table
S = open_slots
O = slot_offers  # noqa: E741
R = reminders


@dataclass(frozen=True)
class Taken:
    won: bool
    slot_id: int
    starts_at: datetime
    appointment_id: int | None = None  # the winner's new session


def take(conn: Connection, offer_id: int, patient_id: int, now: datetime) -> Taken | None:
    """Apply a YES to offer `offer_id`; None if it is no offer of this patient's."""
    offer = conn.execute(
        select(O.c.slot_id, O.c.state, S.c.starts_at)
        .join(S, S.c.id == O.c.slot_id)
        .where(O.c.id == offer_id, O.c.patient_id == patient_id)
    ).first()
    if offer is None:
        return None
    won = offer.state == OfferState.OFFERED and (
        conn.execute(
            update(S)
            .where(S.c.id == offer.slot_id, S.c.state == SlotState.OPEN)
            .values(state=SlotState.TAKEN, taken_by=patient_id, taken_at=now)
        ).rowcount
        == 1
    )
    if not won:
        _answer(conn, offer_id, OfferState.GONE, now)
        # Their reply tells them it has gone: not a second text saying so.
        conn.execute(
            update(R)
            .where(
                R.c.patient_id == patient_id,
                R.c.kind == ReminderKind.SLOT_GONE,
                R.c.occurrence == slot_occurrence(offer.slot_id),
                R.c.state == ReminderState.PENDING,
            )
            .values(state=ReminderState.SKIPPED, skip_reason=SkipReason.SLOT_GONE, updated_at=now)
        )
        log.info("offer %s answered YES after slot %s had gone", offer_id, offer.slot_id)
        return Taken(False, offer.slot_id, offer.starts_at)
    _answer(conn, offer_id, OfferState.TAKEN, now)
    appointment_id = _book(conn, patient_id, offer.slot_id, offer.starts_at, now)
    waitlist.remove(conn, patient_id)
    _tell_the_others(conn, offer.slot_id)
    log.info("slot %s taken by patient %s (offer %s)", offer.slot_id, patient_id, offer_id)
    return Taken(True, offer.slot_id, offer.starts_at, appointment_id)


def decline(conn: Connection, offer_id: int, patient_id: int, now: datetime) -> bool:
    """Apply a NO; False if the offer no longer stood."""
    changed = conn.execute(
        update(O)
        .where(O.c.id == offer_id, O.c.patient_id == patient_id, O.c.state == OfferState.OFFERED)
        .values(state=OfferState.DECLINED, answered_at=now)
    ).rowcount
    return changed == 1


def offer_starts_at(conn: Connection, offer_id: int) -> datetime | None:
    """The start of the slot an offer is about (for the reply's text)."""
    found = conn.execute(
        select(S.c.starts_at).join(O, O.c.slot_id == S.c.id).where(O.c.id == offer_id)
    ).scalar()
    return found


def _answer(conn: Connection, offer_id: int, state: OfferState, now: datetime) -> None:
    conn.execute(update(O).where(O.c.id == offer_id).values(state=state, answered_at=now))


def _book(
    conn: Connection, patient_id: int, slot_id: int, starts_at: datetime, now: datetime
) -> int:
    """The winner's session at the slot's time. A cancelled or replaced session of theirs
    at that very time comes back as this one (one session per patient and time)."""
    values = {
        "source": AppointmentSource.WAITLIST,
        "status": AppointmentStatus.SCHEDULED,
        "filled_slot": slot_id,
        "attendance": None,
        "cancelled_at": None,
        "updated_at": now,
    }
    found = conn.execute(
        select(A.c.id).where(A.c.patient_id == patient_id, A.c.starts_at == starts_at)
    ).scalar()
    if found is not None:
        conn.execute(update(A).where(A.c.id == found).values(**values))
        commands.restore_appointment(conn, found, now)
        appointment_id = int(found)
    else:
        appointment_id = int(
            conn.execute(
                A.insert()
                .values(patient_id=patient_id, starts_at=starts_at, **values)
                .returning(A.c.id)
            ).scalar_one()
        )
    # The next planner run makes its reminders (the worker's tick plans first).
    commands.replan(conn, patient_id, now)
    return appointment_id


def _tell_the_others(conn: Connection, slot_id: int) -> None:
    """Every other live offer of the slot is gone. The "it has gone" texts are queued by the
    next tick (waitlist_slots.tell_gone), not here: queueing a text to another patient would
    wait for their row, which their own reply may hold while it waits for this slot."""
    conn.execute(
        update(O)
        .where(O.c.slot_id == slot_id, O.c.state == OfferState.OFFERED)
        .values(state=OfferState.GONE)
    )
