"""What needs staff: escalations, the day's outgoing and failed texts, replies that need a
look (and marking one seen), and the message log in both directions, filtered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, case, func, or_, select, update

from outreach.accounts import audit
from outreach.accounts.users import Staff
from outreach.db.tables import escalations, inbound_messages, outbound_messages, patients, reminders
from outreach.rules.localtime import day_bounds, local_date
from outreach.rules.vocabulary import ReminderState, Severity
from outreach.transports.twilio_errors import error_meaning

E = escalations
SEVERITY_ORDER = case({s.value: s.rank for s in Severity}, value=E.c.severity, else_=len(Severity))


def _state(row: Any) -> str:
    if row.resolved_at:
        return "resolved"
    return "acknowledged" if row.acknowledged_at else "open"


def escalation_rows(
    engine: Engine, now: datetime, include_resolved: bool = False
) -> list[dict[str, Any]]:
    """Open ones first, urgent on top, oldest first within a severity."""
    query = (
        select(E, patients.c.external_id, patients.c.first_name, patients.c.last_name)
        .join(patients, patients.c.id == E.c.patient_id)
        .order_by(E.c.resolved_at.is_not(None), SEVERITY_ORDER, E.c.created_at)
    )
    if not include_resolved:
        query = query.where(E.c.resolved_at.is_(None))
    with engine.begin() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "id": row.id,
            "severity": row.severity,
            "reason": row.reason,
            "detail": row.detail,
            "patient_id": row.external_id,
            "patient": f"{row.first_name} {row.last_name}".strip(),
            "reported_at": row.created_at.isoformat(),
            "minutes_open": int((now - row.created_at).total_seconds() // 60),
            "state": _state(row),
            "on_call_texted_at": row.notified_at.isoformat() if row.notified_at else None,
        }
        for row in rows
    ]


def message_rows(
    engine: Engine, limit: int = 50, patient: str | None = None
) -> list[dict[str, Any]]:
    """The newest texts both ways, newest first; replies show what we understood."""
    out = outbound_messages
    inn = inbound_messages
    with engine.begin() as conn:
        patient_id = None
        if patient is not None:
            patient_id = conn.execute(
                select(patients.c.id).where(
                    (patients.c.external_id == patient) | (patients.c.phone == patient)
                )
            ).scalar()
            if patient_id is None:
                return []
        sent = (
            select(out, patients.c.external_id)
            .outerjoin(patients, patients.c.id == out.c.patient_id)
            .order_by(out.c.created_at.desc())
            .limit(limit)
        )
        received = (
            select(inn, patients.c.external_id)
            .outerjoin(patients, patients.c.id == inn.c.patient_id)
            .order_by(inn.c.received_at.desc())
            .limit(limit)
        )
        if patient_id is not None:
            sent = sent.where(out.c.patient_id == patient_id)
            received = received.where(inn.c.patient_id == patient_id)
        rows = [
            {
                "at": row.created_at.isoformat(),
                "direction": "out",
                "patient_id": row.external_id,
                "phone": row.to_phone,
                "kind": row.template,
                "status": row.status,
                "error": row.error_code,
                "body": row.body,
            }
            for row in conn.execute(sent)
        ] + [
            {
                "at": row.received_at.isoformat(),
                "direction": "in",
                "patient_id": row.external_id,
                "phone": row.from_phone,
                "kind": row.intent or "unprocessed",
                "status": "needs a look" if row.needs_review else "handled",
                "error": row.error,
                "body": row.body,
            }
            for row in conn.execute(received)
        ]
    return sorted(rows, key=lambda r: r["at"], reverse=True)[:limit]


# Today: what goes out, what failed, which replies need a look.

REMINDER_KINDS = ("consent", "session", "foot_check", "exercise")
SHOWN_STATES = ("pending", "sent", "skipped", "failed")
# A claimed reminder is being sent this minute; staff read it as still to go.
_SHOWN_STATE = {"claimed": "pending"}
FAILED_WITHIN = timedelta(days=7)
# A reply still unprocessed after this long is stuck, not merely on its way.
STUCK_AFTER = timedelta(minutes=5)
R = reminders
OUT = outbound_messages
IN = inbound_messages


@dataclass(frozen=True)
class Due:
    send_at: datetime
    patient_id: str
    kind: str


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
    counts = {kind: dict.fromkeys(SHOWN_STATES, 0) for kind in REMINDER_KINDS}
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
            select(R.c.send_at, R.c.kind, patients.c.external_id)
            .join(patients, patients.c.id == R.c.patient_id)
            .where(*today, R.c.state == "pending", R.c.send_at >= now)
            .order_by(R.c.send_at, R.c.id)
            .limit(upcoming)
        ).all()
    return Outgoing(counts, [Due(r.send_at, r.external_id, r.kind) for r in rows])


@dataclass(frozen=True)
class FailedText:
    at: datetime
    patient_id: str | None  # None: not a patient (the on-call phone)
    phone: str
    template: str
    status: str
    error_code: str | None
    error_message: str | None

    @property
    def meaning(self) -> str:
        return error_meaning(self.error_code)


@dataclass(frozen=True)
class FailedReminder:
    send_at: datetime
    patient_id: str
    kind: str
    reason: str | None


def failed_recently(
    engine: Engine, now: datetime, limit: int = 100
) -> tuple[list[FailedText], list[FailedReminder]]:
    """Texts that failed or were not delivered, and reminders that failed, in the last week."""
    since = now - FAILED_WITHIN
    with engine.begin() as conn:
        texts = conn.execute(
            select(OUT, patients.c.external_id)
            .outerjoin(patients, patients.c.id == OUT.c.patient_id)
            .where(OUT.c.status.in_(("failed", "undelivered")), OUT.c.created_at >= since)
            .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
            .limit(limit)
        ).all()
        failed = conn.execute(
            select(R.c.send_at, R.c.kind, R.c.skip_reason, patients.c.external_id)
            .join(patients, patients.c.id == R.c.patient_id)
            .where(R.c.state == "failed", R.c.updated_at >= since)
            .order_by(R.c.send_at.desc(), R.c.id.desc())
            .limit(limit)
        ).all()
    return (
        [
            FailedText(
                r.created_at, r.external_id, r.to_phone, r.template, r.status, r.error_code,
                r.error_message,
            )
            for r in texts
        ],
        [FailedReminder(r.send_at, r.external_id, r.kind, r.skip_reason) for r in failed],
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


def replies_to_review(engine: Engine, now: datetime, limit: int = 100) -> list[ReplyToReview]:
    """Replies no rule understood, that failed to process, or that are stuck unprocessed;
    oldest first. Marking one seen takes it off (a stuck one leaves once processed)."""
    stuck = IN.c.processed_at.is_(None) & (IN.c.received_at < now - STUCK_AFTER)
    with engine.begin() as conn:
        rows = conn.execute(
            select(IN, patients.c.external_id)
            .outerjoin(patients, patients.c.id == IN.c.patient_id)
            .where(or_(IN.c.needs_review.is_(True), stuck))
            .order_by(IN.c.received_at, IN.c.id)
            .limit(limit)
        ).all()
    return [
        ReplyToReview(
            r.id, r.received_at, r.external_id, r.from_phone, r.body, r.intent, r.error,
            r.needs_review,
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
            conn, staff, "reply_reviewed", now, patient_id=taken.patient_id,
            detail={"reply": inbound_id},
        )  # fmt: skip
    return True
