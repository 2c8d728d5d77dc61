"""What the Today page shows staff besides escalations: the day's outgoing reminders, the
texts and reminders that failed, and replies that need a look (and marking one seen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, or_, select, update

from outreach.accounts import audit
from outreach.accounts.actions import Action
from outreach.accounts.users import Staff
from outreach.db.tables import inbound_messages, outbound_messages, patients, reminders
from outreach.inbox import threads
from outreach.rules.localtime import day_bounds, local_date
from outreach.rules.vocabulary import OutboundStatus, ReminderKind, ReminderState
from outreach.transports.twilio_errors import error_meaning

REMINDER_KINDS = tuple(ReminderKind)
SHOWN_STATES = (
    ReminderState.PENDING,
    ReminderState.SENT,
    ReminderState.SKIPPED,
    ReminderState.FAILED,
)
# A claimed reminder is being sent this minute; staff read it as still to go.
_SHOWN_STATE = {ReminderState.CLAIMED: ReminderState.PENDING}
UNSENT = (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)
FAILED_WITHIN = timedelta(days=7)
# A reply still unprocessed after this long is stuck, not merely on its way.
STUCK_AFTER = timedelta(minutes=5)
R = reminders
OUT = outbound_messages
IN = inbound_messages


# Each row carries its patient's timezone: a reminder is shown at the patient's own wall
# time ("20:00 CDT"), not at the clinic's ("21:00"), which would read as a quiet-hours breach.
@dataclass(frozen=True)
class Due:
    send_at: datetime
    patient_id: str
    kind: str
    timezone: str


@dataclass(frozen=True)
class Outgoing:
    counts: dict[str, dict[str, int]]  # kind -> pending, sent, skipped, failed
    next: list[Due]

    @property
    def total(self) -> int:
        return sum(sum(by_state.values()) for by_state in self.counts.values())


def outgoing_today(engine: Engine, now: datetime, zone: ZoneInfo, upcoming: int = 10) -> Outgoing:
    day = local_date(now, zone)
    start, end = day_bounds(day, day, zone)
    today = (R.c.send_at >= start, R.c.send_at < end)
    counts: dict[str, dict[str, int]] = {
        kind: dict.fromkeys(SHOWN_STATES, 0) for kind in REMINDER_KINDS
    }
    # Every state, named, so the (state, send_at) index serves the day's range: without a
    # condition on state SQLite scans the whole outbox, a million rows at a large clinic.
    every_state = R.c.state.in_([str(state) for state in ReminderState])
    with engine.begin() as conn:
        for kind, state, n in conn.execute(
            select(R.c.kind, R.c.state, func.count())
            .where(every_state, *today)
            .group_by(R.c.kind, R.c.state)
        ):
            by_state = counts.setdefault(kind, dict.fromkeys(SHOWN_STATES, 0))
            shown = _SHOWN_STATE.get(state, state)
            by_state[shown] = by_state.get(shown, 0) + n
        rows = conn.execute(
            select(R.c.send_at, R.c.kind, patients.c.external_id, patients.c.timezone)
            .join(patients, patients.c.id == R.c.patient_id)
            .where(*today, R.c.state == ReminderState.PENDING, R.c.send_at >= now)
            .order_by(R.c.send_at, R.c.id)
            .limit(upcoming)
        ).all()
    return Outgoing(counts, [Due(r.send_at, r.external_id, r.kind, r.timezone) for r in rows])


@dataclass(frozen=True)
class FailedText:
    at: datetime
    patient_id: str | None  # None: not a patient (the on-call phone)
    phone: str
    template: str
    status: str
    error_code: str | None
    error_message: str | None
    timezone: str | None  # the patient's; None: not a patient

    @property
    def meaning(self) -> str:
        return error_meaning(self.error_code)


@dataclass(frozen=True)
class FailedReminder:
    send_at: datetime
    patient_id: str
    kind: str
    reason: str | None
    timezone: str


def failed_recently(
    engine: Engine, now: datetime, limit: int = 100
) -> tuple[list[FailedText], list[FailedReminder]]:
    """Texts that failed or were not delivered, and reminders that failed, in the last week."""
    since = now - FAILED_WITHIN
    with engine.begin() as conn:
        texts = conn.execute(
            select(OUT, patients.c.external_id, patients.c.timezone)
            .outerjoin(patients, patients.c.id == OUT.c.patient_id)
            .where(OUT.c.status.in_(UNSENT), OUT.c.created_at >= since)
            .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
            .limit(limit)
        ).all()
        failed = conn.execute(
            select(
                R.c.send_at,
                R.c.kind,
                R.c.skip_reason,
                patients.c.external_id,
                patients.c.timezone,
            )
            .join(patients, patients.c.id == R.c.patient_id)
            .where(R.c.state == ReminderState.FAILED, R.c.updated_at >= since)
            .order_by(R.c.send_at.desc(), R.c.id.desc())
            .limit(limit)
        ).all()
    return (
        [
            FailedText(
                r.created_at, r.external_id, r.to_phone, r.template, r.status, r.error_code,
                r.error_message, r.timezone,
            )
            for r in texts
        ],
        [
            FailedReminder(r.send_at, r.external_id, r.kind, r.skip_reason, r.timezone)
            for r in failed
        ],
    )  # fmt: skip


@dataclass(frozen=True)
class ReplyToReview:
    id: int
    received_at: datetime
    patient_id: str | None  # None: the number is not a patient's
    phone: str
    body: str
    intent: str | None  # None: not interpreted yet
    error: str | None  # why interpreting it failed
    needs_review: bool  # False: only listed because it is stuck unprocessed
    timezone: str | None  # the patient's; None: not a patient


def replies_to_review(engine: Engine, now: datetime, limit: int = 100) -> list[ReplyToReview]:
    """Replies no rule understood, that failed to process, or that are stuck unprocessed;
    oldest first. Marking one seen takes it off (a stuck one leaves once processed)."""
    stuck = IN.c.processed_at.is_(None) & (IN.c.received_at < now - STUCK_AFTER)
    with engine.begin() as conn:
        rows = conn.execute(
            select(IN, patients.c.external_id, patients.c.timezone)
            .outerjoin(patients, patients.c.id == IN.c.patient_id)
            .where(or_(IN.c.needs_review.is_(True), stuck))
            .order_by(IN.c.received_at, IN.c.id)
            .limit(limit)
        ).all()
    return [
        ReplyToReview(
            r.id, r.received_at, r.external_id, r.from_phone, r.body, r.intent, r.error,
            r.needs_review, r.timezone,
        )
        for r in rows
    ]  # fmt: skip


class ReplyNotFound(LookupError):
    """There is no reply with this id."""


def mark_seen(engine: Engine, inbound_id: int, staff: Staff, now: datetime) -> bool:
    """Take a reply off the needs-a-look list. False if it was already off it; raises
    ReplyNotFound for an unknown id."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(IN)
            .where(IN.c.id == inbound_id, IN.c.needs_review.is_(True))
            .values(needs_review=False)
            .returning(IN.c.patient_id)
        ).first()
        if taken is None:
            if conn.execute(select(IN.c.id).where(IN.c.id == inbound_id)).first() is None:
                raise ReplyNotFound(inbound_id)
            return False
        audit.record(
            conn, staff, Action.REPLY_REVIEWED, now, patient_id=taken.patient_id,
            detail={"reply": inbound_id},
        )  # fmt: skip
        if taken.patient_id is not None:
            # Nothing else of theirs waits: their conversation leaves the inbox too.
            threads.close_if_all_seen(conn, taken.patient_id, staff, now)
    return True
