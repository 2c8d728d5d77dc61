"""What staff read of the waitlist's slots: each slot freed by a cancellation, whose session
it was, who was offered it in which round and what they answered, and who took it. Read
only; the admin's /waitlist page, `outreach waitlist list` and the patient page use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from outreach.db.tables import appointment_table, open_slots, patients, slot_offers

A = appointment_table
S = open_slots
O = slot_offers  # noqa: E741
P = patients


@dataclass(frozen=True)
class Offer:
    external_id: str
    name: str
    round: int
    state: str  # an OfferState
    offered_at: datetime
    expires_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class Slot:
    id: int
    starts_at: datetime
    zone: str  # the zone of the patient who cancelled: the clinic's clock, near enough
    state: str  # a SlotState
    freed_by: str  # "Ana Torres (P-1)"
    opened_at: datetime
    taken_by: str | None  # "Ben Ortiz (P-2)"
    taken_at: datetime | None
    closed_why: str | None
    offers: list[Offer] = field(default_factory=list)


def _who(first: str, last: str, external_id: str) -> str:
    return f"{first} {last}".strip() + f" ({external_id})"


def slots(conn: Connection, since: datetime, limit: int = 50) -> list[Slot]:
    """The slots that start after `since`, soonest first, with their offers."""
    T = P.alias("taker")
    rows = conn.execute(
        select(
            S.c.id,
            S.c.starts_at,
            S.c.state,
            S.c.opened_at,
            S.c.taken_at,
            S.c.closed_why,
            P.c.first_name,
            P.c.last_name,
            P.c.external_id,
            P.c.timezone,
            T.c.first_name.label("t_first"),
            T.c.last_name.label("t_last"),
            T.c.external_id.label("t_id"),
        )
        .join(A, A.c.id == S.c.appointment_id)
        .join(P, P.c.id == A.c.patient_id)
        .outerjoin(T, T.c.id == S.c.taken_by)
        .where(S.c.starts_at > since)
        .order_by(S.c.starts_at, S.c.id)
        .limit(limit)
    ).all()
    found = {
        r.id: Slot(
            r.id,
            r.starts_at,
            r.timezone,
            r.state,
            _who(r.first_name, r.last_name, r.external_id),
            r.opened_at,
            None if r.t_id is None else _who(r.t_first, r.t_last, r.t_id),
            r.taken_at,
            r.closed_why,
        )
        for r in rows
    }
    if not found:
        return []
    offers = conn.execute(
        select(O, P.c.first_name, P.c.last_name, P.c.external_id)
        .join(P, P.c.id == O.c.patient_id)
        .where(O.c.slot_id.in_(list(found)))
        .order_by(O.c.round, O.c.id)
    ).all()
    for o in offers:
        found[o.slot_id].offers.append(
            Offer(
                o.external_id,
                f"{o.first_name} {o.last_name}".strip(),
                o.round,
                o.state,
                o.offered_at,
                o.expires_at,
                o.answered_at,
            )
        )
    return list(found.values())


@dataclass(frozen=True)
class Taken:
    starts_at: datetime
    zone: str
    freed_by: str  # whose cancelled session it was


def taken_by_patient(conn: Connection, patient_id: int, since: datetime) -> list[Taken]:
    """The slots this patient took from the waitlist that start after `since`: the patient
    page shows "took the waitlist slot of Ana Torres (P-1)"."""
    freed = A.alias("freed")
    taker = P.alias("taker")
    rows = conn.execute(
        select(S.c.starts_at, taker.c.timezone, P.c.first_name, P.c.last_name, P.c.external_id)
        .join(taker, taker.c.id == S.c.taken_by)
        .join(freed, freed.c.id == S.c.appointment_id)
        .join(P, P.c.id == freed.c.patient_id)
        .where(S.c.taken_by == patient_id, S.c.starts_at > since)
        .order_by(S.c.starts_at)
    ).all()
    return [
        Taken(r.starts_at, r.timezone, _who(r.first_name, r.last_name, r.external_id)) for r in rows
    ]


def filled_from(conn: Connection, appointment_id: int) -> str | None:
    """For a session a waitlisted patient took: whose cancelled session it replaced, as the
    patient page shows it ("took the waitlist slot of Ana Torres (P-1)"); else None."""
    freed = A.alias("freed")
    row = conn.execute(
        select(P.c.first_name, P.c.last_name, P.c.external_id)
        .select_from(A)
        .join(S, S.c.id == A.c.filled_slot)
        .join(freed, freed.c.id == S.c.appointment_id)
        .join(P, P.c.id == freed.c.patient_id)
        .where(A.c.id == appointment_id)
    ).first()
    return None if row is None else _who(row.first_name, row.last_name, row.external_id)
