"""Each of the report's figures read from the database over [lo, hi), UTC instants of the
range's clinic-local days: one statement each.

Who answered what is joined in as grouped subqueries rather than a correlated EXISTS per
row: inbound.prompt_id and outbound.prompt_ref have no index, and a hash join reads each
table once on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)

from outreach.db.tables import (
    appointment_table,
    consent_events,
    escalations,
    inbound_messages,
    observations,
    outbound_messages,
    staff_messages,
)
from outreach.rules.durations import median_duration
from outreach.rules.responsetime import first_reply_waits
from outreach.rules.vocabulary import (
    EXERCISE_ANSWERS,
    AppointmentStatus,
    ConsentEventKind,
    ObservationKind,
    OutboundStatus,
    Question,
)

# A text in one of these states never reached, or may never have reached, the phone.
NOT_SENT = (
    OutboundStatus.PENDING,
    OutboundStatus.FAILED,
    OutboundStatus.UNDELIVERED,
    OutboundStatus.UNKNOWN,
)
UNDELIVERABLE = (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)

A = appointment_table
OUT = outbound_messages
IN = inbound_messages
OBS = observations


def _sent_at() -> ColumnElement[datetime]:
    # Replies sent inside a webhook answer get sent_at when Twilio queues them; a row the
    # provider never answered has only created_at.
    return func.coalesce(OUT.c.sent_at, OUT.c.created_at)


def _exercise_answers(lo: datetime) -> Subquery:
    """Per question answered since `lo`, whether the answer was exercise DONE or SKIP."""

    def saw(kind: ObservationKind) -> ColumnElement[int]:
        return func.max(case((OBS.c.kind == kind, 1), else_=0))

    return (
        select(
            IN.c.prompt_id,
            saw(ObservationKind.EXERCISE_DONE).label("done"),
            saw(ObservationKind.EXERCISE_SKIPPED).label("skipped"),
        )
        .join(OBS, OBS.c.inbound_id == IN.c.id)
        .where(
            IN.c.prompt_id.is_not(None),
            IN.c.received_at >= lo,  # an answer comes after its question
            OBS.c.kind.in_(EXERCISE_ANSWERS),
        )
        .group_by(IN.c.prompt_id)
        .subquery("exercise_answers")
    )


def _confirmed_by_reply() -> Subquery:
    """Appointments a reply to one of their reminders confirmed (the status may have moved
    on since, e.g. to superseded by a plan edit)."""
    reminder = OUT.alias("confirmed_reminder")
    return (
        select(reminder.c.prompt_ref.label("appointment_id"))
        .join(IN, IN.c.prompt_id == reminder.c.id)
        .join(OBS, OBS.c.inbound_id == IN.c.id)
        .where(
            reminder.c.prompt == Question.SESSION, OBS.c.kind == ObservationKind.SESSION_CONFIRMED
        )
        .distinct()
        .subquery("confirmed_by_reply")
    )


def _confirmed(by_reply: Subquery) -> ColumnElement[bool]:
    """The appointment A was confirmed: its status says so, or a reply did."""
    return or_(A.c.status == AppointmentStatus.CONFIRMED, by_reply.c.appointment_id.is_not(None))


@dataclass(frozen=True)
class PromptCount:
    """Questions of one kind sent in one chart period, and how many got which answer."""

    kind: str
    period: int  # index into DateRange.periods() (daterange.py)
    sent: int
    answered: int
    done: int  # exercise answered DONE
    skipped: int  # exercise answered SKIP


def prompt_counts(
    conn: Connection, lo: datetime, hi: datetime, edges: list[datetime]
) -> list[PromptCount]:
    """Questions that reached the provider in [lo, hi), counted by kind and chart period in
    the database: a large clinic sends a million in four weeks, too many to fetch."""
    sent_at = _sent_at()
    answers = _exercise_answers(lo)
    period: ColumnElement[int] = (
        case(*((sent_at < edge, index) for index, edge in enumerate(edges)), else_=len(edges))
        if edges
        else literal(0)
    )
    rows = (
        select(
            OUT.c.prompt.label("kind"),
            period.label("period"),
            case((OUT.c.answered_at.is_(None), 0), else_=1).label("answered"),
            func.coalesce(answers.c.done, 0).label("done"),
            func.coalesce(answers.c.skipped, 0).label("skipped"),
        )
        .select_from(OUT.outerjoin(answers, answers.c.prompt_id == OUT.c.id))
        .where(
            OUT.c.prompt.is_not(None),
            OUT.c.status.notin_(NOT_SENT),
            sent_at >= lo,
            sent_at < hi,
        )
        .subquery("prompts")
    )
    counted = conn.execute(
        select(
            rows.c.kind,
            rows.c.period,
            func.count(),
            func.sum(rows.c.answered),
            func.sum(rows.c.done),
            func.sum(rows.c.skipped),
        ).group_by(rows.c.kind, rows.c.period)
    ).all()
    return [
        PromptCount(str(kind), int(index), int(n), int(answered), int(done), int(skipped))
        for kind, index, n, answered, done, skipped in counted
    ]


def median_reply(conn: Connection, lo: datetime, hi: datetime, answered: int) -> timedelta | None:
    """The median time to answer of the `answered` questions sent in [lo, hi): the database
    sorts the durations and hands back the middle one or two."""
    if not answered:
        return None
    sent_at = _sent_at()
    if conn.dialect.name == "sqlite":
        seconds: ColumnElement[float] = (
            func.julianday(OUT.c.answered_at) - func.julianday(sent_at)
        ) * 86400.0
    else:
        seconds = func.date_part("epoch", OUT.c.answered_at - sent_at)
    middle = conn.execute(
        select(seconds.label("seconds"))
        .where(
            OUT.c.prompt.is_not(None),
            OUT.c.status.notin_(NOT_SENT),
            OUT.c.answered_at.is_not(None),
            sent_at >= lo,
            sent_at < hi,
        )
        .order_by(seconds)
        .offset((answered - 1) // 2)
        .limit(2 - answered % 2)
    ).scalars()
    # julianday is a float of days: milliseconds are as fine as it keeps exactly.
    return median_duration([timedelta(seconds=round(float(s), 3)) for s in middle])


def reminded_sessions(conn: Connection, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    """Sessions with a reminder sent in [lo, hi), once each however many reminders they got
    (a 24 h and a 2 h reminder would otherwise count one session twice)."""
    sent_at = _sent_at()
    by_reply = _confirmed_by_reply()
    rows = conn.execute(
        select(A.c.id, _confirmed(by_reply).label("confirmed"))
        .select_from(
            A.join(OUT, OUT.c.prompt_ref == A.c.id).outerjoin(
                by_reply, by_reply.c.appointment_id == A.c.id
            )
        )
        .where(
            OUT.c.prompt == Question.SESSION,
            OUT.c.status.notin_(NOT_SENT),
            sent_at >= lo,
            sent_at < hi,
        )
        .distinct()
    ).all()
    return [{"id": r.id, "confirmed": bool(r.confirmed)} for r in rows]


def past_sessions(conn: Connection, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    """Sessions starting in [lo, hi) that were still on (scheduled or confirmed): whether
    confirmed, and whether any reminder of theirs reached the provider."""
    by_reply = _confirmed_by_reply()
    reminded = (
        select(OUT.c.prompt_ref.label("appointment_id"))
        .where(
            # Said outright, so the prompt_ref index is searched, not read whole: most texts
            # (foot checks, exercises, answers) have none.
            OUT.c.prompt_ref.is_not(None),
            OUT.c.prompt == Question.SESSION,
            OUT.c.status.notin_(NOT_SENT),
        )
        .distinct()
        .subquery("reminded")
    )
    rows = conn.execute(
        select(
            A.c.id,
            _confirmed(by_reply).label("confirmed"),
            reminded.c.appointment_id.is_not(None).label("reminded"),
        )
        .select_from(
            A.outerjoin(by_reply, by_reply.c.appointment_id == A.c.id).outerjoin(
                reminded, reminded.c.appointment_id == A.c.id
            )
        )
        .where(
            A.c.starts_at >= lo,
            A.c.starts_at < hi,
            A.c.status.in_((AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)),
        )
    ).all()
    return [{"confirmed": bool(r.confirmed), "reminded": bool(r.reminded)} for r in rows]


def raised_escalations(conn: Connection, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    E = escalations
    rows = conn.execute(
        select(E.c.severity, E.c.created_at, E.c.acknowledged_at, E.c.resolved_at).where(
            E.c.created_at >= lo, E.c.created_at < hi
        )
    ).all()
    return [
        {
            "severity": r.severity,
            "at": r.created_at,
            "first_action": min(
                (t for t in (r.acknowledged_at, r.resolved_at) if t is not None), default=None
            ),
        }
        for r in rows
    ]


def opt_outs(conn: Connection, lo: datetime, hi: datetime) -> dict[str, int]:
    C = consent_events
    rows = conn.execute(
        select(C.c.source, func.count())
        .where(C.c.event == ConsentEventKind.OPTED_OUT, C.c.at >= lo, C.c.at < hi)
        .group_by(C.c.source)
        .order_by(C.c.source)
    ).all()
    return {source: int(count) for source, count in rows}


def undeliverable(conn: Connection, lo: datetime, hi: datetime) -> dict[str, int]:
    sent_at = _sent_at()
    retry = OUT.alias("retry")
    sent_by_a_retry = exists().where(
        retry.c.reminder_id == OUT.c.reminder_id,
        retry.c.id > OUT.c.id,
        retry.c.status.notin_(NOT_SENT),
    )
    code = func.coalesce(OUT.c.error_code, "no code")
    rows = conn.execute(
        select(code.label("code"), func.count())
        .where(
            OUT.c.status.in_(UNDELIVERABLE),
            and_(sent_at >= lo, sent_at < hi),
            ~sent_by_a_retry,
        )
        .group_by(code)
        .order_by(code)
    ).all()
    return {str(c): int(n) for c, n in rows}


def staff_reply_waits(conn: Connection, lo: datetime, hi: datetime) -> list[timedelta]:
    """How long each patient's texts of [lo, hi) waited for a person to answer them
    (rules/responsetime.py): only patients staff texted, not messages to many."""
    SM = staff_messages
    answered = select(SM.c.patient_id).where(SM.c.created_at >= lo, SM.c.broadcast_id.is_(None))
    texts_in = conn.execute(
        select(IN.c.patient_id, IN.c.received_at).where(
            IN.c.received_at >= lo, IN.c.received_at < hi, IN.c.patient_id.in_(answered)
        )
    ).all()
    staff_texts = conn.execute(
        select(SM.c.patient_id, SM.c.created_at).where(
            SM.c.created_at >= lo, SM.c.broadcast_id.is_(None)
        )
    ).all()
    return first_reply_waits(
        [(r.patient_id, r.received_at) for r in texts_in],
        [(r.patient_id, r.created_at) for r in staff_texts],
    )
