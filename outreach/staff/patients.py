"""What the patient pages show: the list, and for one patient their conversation, foot-check
calendar, exercise completion and pain, and consent history (what needs doing for them is
needsdoing.py).

The calendar and the completion are classified by rules/adherence.py, pure over the rows
read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, and_, func, or_, select

from outreach.db.tables import (
    appointment_table,
    consent_events,
    inbound_messages,
    observations,
    outbound_messages,
    patients,
)
from outreach.patients.plans import status_of
from outreach.rules.adherence import (
    EXERCISE_WEEKS,
    Answer,
    Prompt,
    exercise_days,
    foot_days,
    weekly_completion,
)
from outreach.rules.localtime import day_bounds
from outreach.rules.months import last_day, month_of, shift_month
from outreach.rules.vocabulary import (
    EXERCISE_ANSWERS,
    FOOT_ANSWERS,
    AppointmentStatus,
    ConsentState,
    Direction,
    OutboundStatus,
    Question,
)

P = patients
OUT = outbound_messages
IN = inbound_messages
THREAD_LIMIT = 200
DAY = timedelta(days=1)
LIST_LIMIT = 500
UNSENT = (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)

STATUS_FILTERS = {
    "active": and_(
        P.c.consent_state == ConsentState.GRANTED, P.c.opted_out.is_(False), P.c.paused.is_(False)
    ),
    "awaiting consent": and_(
        P.c.consent_state != ConsentState.GRANTED, P.c.opted_out.is_(False), P.c.paused.is_(False)
    ),
    "paused": and_(P.c.paused.is_(True), P.c.opted_out.is_(False)),
    "opted out": P.c.opted_out.is_(True),
}


def patient_list(engine: Engine, q: str = "", status: str = "") -> list[dict[str, Any]]:
    """Patients matching `q` (id, first or last name, or phone digits) and a status, with
    when each last replied."""
    # Per listed patient, off the (patient, received_at) index: grouping every reply ever
    # received by patient cost a scan of the whole inbox on each view of the list.
    last_reply = (
        select(func.max(IN.c.received_at))
        .where(IN.c.patient_id == P.c.id)
        .correlate(P)
        .scalar_subquery()
    )
    query = select(P, last_reply.label("last_reply")).order_by(P.c.external_id).limit(LIST_LIMIT)
    q = q.replace("\x00", "").strip()  # PostgreSQL refuses a NUL even in a pattern
    if q:
        query = query.where(_matches(q))
    if status in STATUS_FILTERS:
        query = query.where(STATUS_FILTERS[status])
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "patient_id": row.external_id,
            "name": f"{row.first_name} {row.last_name}".strip(),
            "language": row.language,
            "status": status_of(row),
            "consent": row.consent_state,
            "opted_out": row.opted_out,
            "paused": row.paused,
            "last_reply": row.last_reply,
        }
        for row in rows
    ]


def _matches(q: str) -> Any:
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    found: list[Any] = [
        P.c.external_id.ilike(like, escape="\\"),
        P.c.first_name.ilike(like, escape="\\"),
        P.c.last_name.ilike(like, escape="\\"),
        (P.c.first_name + " " + P.c.last_name).ilike(like, escape="\\"),
    ]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3:  # "617" finds a phone; a single digit would find everyone
        found.append(P.c.phone.contains(digits))
    return or_(*found)


def header(engine: Engine, external_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(P).where(P.c.external_id == external_id)).first()
    if row is None:
        return None
    return {
        "id": row.id,
        "patient_id": row.external_id,
        "name": f"{row.first_name} {row.last_name}".strip(),
        "phone": row.phone,
        "language": row.language,
        "timezone": row.timezone,
        "status": status_of(row),
        "consent": row.consent_state,
        "opted_out": row.opted_out,
        "paused": row.paused,
        "quiet_hours": row.quiet_hours,
        "pain_baseline": row.pain_baseline,
    }


def thread(engine: Engine, patient_id: int, limit: int = THREAD_LIMIT) -> list[dict[str, Any]]:
    """The conversation both ways, oldest first so the newest sits at the bottom."""
    with engine.connect() as conn:
        sent = conn.execute(
            select(OUT)
            .where(OUT.c.patient_id == patient_id)
            .order_by(OUT.c.created_at.desc(), OUT.c.id.desc())
            .limit(limit)
        ).all()
        received = conn.execute(
            select(IN)
            .where(IN.c.patient_id == patient_id)
            .order_by(IN.c.received_at.desc(), IN.c.id.desc())
            .limit(limit)
        ).all()
    # A reply and the text answering it share an instant; the reply comes first.
    messages = [
        {
            "direction": Direction.OUT,
            "at": row.created_at,
            "order": (row.created_at, 1, row.id),
            "body": row.body,
            "kind": row.template,
            "status": row.status,
            "error": row.error_code,
        }
        for row in sent
    ] + [
        {
            "direction": Direction.IN,
            "at": row.received_at,
            "order": (row.received_at, 0, row.id),
            "body": row.body,
            "intent": row.intent,  # None: not read yet
            "needs_review": row.needs_review,
        }
        for row in received
    ]
    messages.sort(key=lambda m: m["order"])
    return messages[-limit:]


FOOT_LABELS = {
    "ok": "answered: all OK",
    "problem": "problem reported",
    "missed": "missed (text sent, no answer)",
    "waiting": "text sent, waiting for the answer",
    "none": "no text",
}
EXERCISE_LABELS = {
    "done": "done",
    "skipped": "skipped",
    "missed": "no answer",
    "waiting": "waiting for the answer",
}


def _prompts(
    conn: Connection, patient_id: int, kind: str, since: datetime, until: datetime | None = None
) -> list[Prompt]:
    query = select(OUT.c.id, OUT.c.created_at, OUT.c.reply_until, OUT.c.answered_at).where(
        OUT.c.patient_id == patient_id,
        OUT.c.prompt == kind,
        OUT.c.created_at >= since,
        OUT.c.status.notin_(UNSENT),
    )
    if until is not None:
        query = query.where(OUT.c.created_at < until)
    rows = conn.execute(query).all()
    return [Prompt(r.id, r.created_at, r.reply_until, r.answered_at is not None) for r in rows]


def _answers(
    conn: Connection,
    patient_id: int,
    kinds: Sequence[str],
    since: datetime,
    until: datetime | None = None,
) -> list[Answer]:
    OB = observations
    query = (
        select(OB.c.kind, OB.c.at, OB.c.value, IN.c.prompt_id)
        .outerjoin(IN, IN.c.id == OB.c.inbound_id)
        .where(OB.c.patient_id == patient_id, OB.c.kind.in_(kinds), OB.c.at >= since)
        .order_by(OB.c.at, OB.c.id)
    )
    if until is not None:
        query = query.where(OB.c.at < until)
    rows = conn.execute(query).all()
    return [Answer(r.kind, r.at, r.prompt_id, r.value) for r in rows]


def adherence(
    engine: Engine, patient_id: int, zone: ZoneInfo, now: datetime, month: date | None = None
) -> dict[str, Any]:
    """The foot-check calendar of a month (`month`, its first day; by default this month,
    or the month of the latest foot check if none went out this month), exercise days,
    weekly completion and pain."""
    today = now.astimezone(zone).date()
    exercise_since = now - timedelta(weeks=EXERCISE_WEEKS, days=1)
    with engine.connect() as conn:
        if month is None:
            month = _default_month(conn, patient_id, zone, today)
        last = last_day(month)
        start, end = day_bounds(month, last, zone)
        # A day's margin each side: a prompt of the day before answered after midnight, an
        # answer to the last day's prompt after the month ends.
        foot = foot_days(
            _prompts(conn, patient_id, Question.FOOT_CHECK, start - DAY, end),
            _answers(conn, patient_id, FOOT_ANSWERS, start, end + DAY),
            zone,
            now,
            month,
            last,
        )
        exercise = exercise_days(
            _prompts(conn, patient_id, Question.EXERCISE, exercise_since),
            _answers(conn, patient_id, EXERCISE_ANSWERS, exercise_since),
            zone,
            now,
        )
    first_day = today - timedelta(weeks=EXERCISE_WEEKS)
    exercise = [d for d in exercise if d.day > first_day]
    this_month = month_of(today)
    return {
        "foot": foot,
        "month": month,
        "previous_month": shift_month(month, -1),
        "next_month": shift_month(month, 1) if month < this_month else None,
        "this_month": this_month,
        "exercise": exercise,
        "weeks": weekly_completion(exercise, now, zone),
        "pain": [d for d in exercise if d.value is not None],
    }


def _default_month(conn: Connection, patient_id: int, zone: ZoneInfo, today: date) -> date:
    """This month, unless no foot check went out in it: then the month of the latest one, so
    the calendar opens where there is something to see."""
    latest = conn.execute(
        select(func.max(OUT.c.created_at)).where(
            OUT.c.patient_id == patient_id, OUT.c.prompt == Question.FOOT_CHECK
        )
    ).scalar()
    this_month = month_of(today)
    if latest is None:
        return this_month
    return min(this_month, month_of(latest.astimezone(zone).date()))


def upcoming_sessions(engine: Engine, patient_id: int, now: datetime) -> list[dict[str, Any]]:
    A = appointment_table
    live = (
        AppointmentStatus.SCHEDULED,
        AppointmentStatus.CONFIRMED,
        AppointmentStatus.RESCHEDULE_REQUESTED,
    )
    with engine.connect() as conn:
        rows = conn.execute(
            select(A)
            .where(A.c.patient_id == patient_id, A.c.starts_at > now, A.c.status.in_(live))
            .order_by(A.c.starts_at)
            .limit(50)
        ).all()
    return [
        {"id": r.id, "starts_at": r.starts_at, "source": r.source, "status": r.status} for r in rows
    ]


def consent_history(engine: Engine, patient_id: int) -> list[dict[str, Any]]:
    C = consent_events
    with engine.connect() as conn:
        rows = conn.execute(
            select(C).where(C.c.patient_id == patient_id).order_by(C.c.at, C.c.id)
        ).all()
    return [
        {
            "at": r.at,
            "kind": r.event,
            "event": r.event.replace("_", " "),
            "source": r.source,
            "detail": r.detail,
        }
        for r in rows
    ]
