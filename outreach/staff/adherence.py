"""The foot-check calendar (a month at a time), exercise days, weekly completion and pain
that a patient's page shows, classified by rules/adherence.py, pure over the rows read here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from outreach.db.tables import inbound_messages, observations, outbound_messages
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
    OutboundStatus,
    Question,
)

OUT = outbound_messages
IN = inbound_messages
DAY = timedelta(days=1)
UNSENT = (OutboundStatus.FAILED, OutboundStatus.UNDELIVERED)


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
