"""What staff see of the clinic's systems that send appointments: each feed's health, the
appointments waiting for a patient to be enrolled, and the messages that were refused or
could not be applied (with what the sender was answered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from outreach.db.tables import feed_messages, unmatched_appointments
from outreach.monitoring.feeds import FeedState, feed_states
from outreach.rules.vocabulary import AppointmentSource, FeedOutcome, FeedStatus

U = unmatched_appointments
M = feed_messages
SHOWN = 200
# Messages staff should read: not applied, answered with an error or never handled.
TROUBLE = (FeedOutcome.ERROR, FeedOutcome.REJECTED, FeedOutcome.RECEIVED)


@dataclass(frozen=True)
class Unmatched:
    id: int
    source: str
    feed_ref: str
    patient_ref: str  # the clinic's id: enrol the patient with it
    patient_name: str
    phone: str | None
    starts_at: datetime | None
    status: str
    received_at: datetime

    @property
    def source_word(self) -> str:
        return AppointmentSource(self.source).word

    @property
    def status_word(self) -> str:
        return FeedStatus(self.status).replace("_", "-")

    @property
    def first_name(self) -> str:
        return self.patient_name.split(" ", 1)[0] if self.patient_name else ""

    @property
    def last_name(self) -> str:
        parts = self.patient_name.split(" ", 1)
        return parts[1] if len(parts) == 2 else ""


@dataclass(frozen=True)
class Trouble:
    id: int
    feed: str
    received_at: datetime
    peer: str
    message_type: str | None
    control_id: str | None
    outcome: str
    ack: str | None
    detail: str | None
    raw: str


@dataclass(frozen=True)
class Board:
    feeds: tuple[FeedState, ...]
    unmatched: list[Unmatched]
    trouble: list[Trouble]


def board(engine: Engine, now: datetime) -> Board:
    with engine.connect() as conn:
        states = feed_states(conn, now)
        kept = conn.execute(
            select(U)
            .where(U.c.matched_at.is_(None))
            .order_by(U.c.starts_at.is_(None), U.c.starts_at, U.c.id)
            .limit(SHOWN)
        ).all()
        bad = conn.execute(
            select(M)
            .where(M.c.outcome.in_(TROUBLE))
            .order_by(M.c.received_at.desc(), M.c.id.desc())
            .limit(50)
        ).all()
    return Board(
        feeds=states,
        unmatched=[
            Unmatched(
                r.id,
                r.source,
                r.feed_ref,
                r.patient_ref,
                r.patient_name,
                r.phone,
                r.starts_at,
                r.status,
                r.received_at,
            )
            for r in kept
        ],
        trouble=[
            Trouble(
                r.id,
                r.feed,
                r.received_at,
                r.peer,
                r.message_type,
                r.control_id,
                r.outcome,
                r.ack,
                r.detail,
                r.raw,
            )
            for r in bad
        ],
    )
