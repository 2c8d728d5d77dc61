"""The report's figures about texts, from the raw rows of [lo, hi): questions sent and
answered, the time to answer, sessions reminded, texts undeliverable. Per clinic day
(tally.py): large counts are grouped by day in the database (`edges`, the UTC instants
where each day after the first starts), small ones are bucketed in Python.

A day's texts are found by the instant they count as sent (sent_at()), through an index
on that expression; a session's reminders by prompt_ref, a question's answers by
inbound.prompt_id and what they told us by observation.inbound_id, all indexed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Integer,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)

from outreach.db.tables import (
    appointment_table,
    inbound_messages,
    observations,
    outbound_messages,
)
from outreach.rules.localtime import local_date
from outreach.rules.vocabulary import (
    EXERCISE_ANSWERS,
    AppointmentStatus,
    ObservationKind,
    OutboundStatus,
    Question,
)
from outreach.staff.report.counts import Figure, Tally
from outreach.staff.report.histogram import HOUR_FROM, MINUTE_FROM

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


def sent_at(table: FromClause = OUT) -> ColumnElement[datetime]:
    # Replies sent inside a webhook answer get sent_at when Twilio queues them; a row the
    # provider never answered has only created_at.
    return func.coalesce(table.c.sent_at, table.c.created_at)


def sent_between(lo: datetime, hi: datetime) -> ColumnElement[bool]:
    """sent_at() in [lo, hi): the expression index ix_outbound_sent_or_created serves it."""
    return and_(sent_at() >= lo, sent_at() < hi)


def day_index(at: ColumnElement[datetime], edges: list[datetime]) -> ColumnElement[int]:
    if not edges:
        return literal(0)
    return case(*((at < edge, index) for index, edge in enumerate(edges)), else_=len(edges))


def _seconds_between(
    conn: Connection, later: ColumnElement[datetime], earlier: ColumnElement[datetime]
) -> ColumnElement[int]:
    """Whole seconds from `earlier` to `later`, floored (histogram.whole_seconds)."""
    if conn.dialect.name == "sqlite":
        days = func.julianday(later) - func.julianday(earlier)
        # julianday keeps about a millisecond: round there; CAST then drops the fraction.
        return cast(func.round(days * 86400.0, 3), Integer)
    return cast(func.floor(func.extract("epoch", later - earlier)), Integer)


def _bucket(seconds: ColumnElement[int]) -> ColumnElement[int]:
    """histogram.bucket in SQL."""
    return case(
        (seconds < 0, 0),
        (seconds < MINUTE_FROM, seconds),
        (seconds < HOUR_FROM, seconds - seconds % 60),
        else_=seconds - seconds % 3600,
    )


def confirmed(a: FromClause = A) -> ColumnElement[bool]:
    """The appointment was confirmed: its status says so, or a reply to one of its
    reminders did (the status may have moved on since, e.g. to superseded by a plan edit)."""
    reminder = OUT.alias("confirmed_reminder")
    # A scalar subquery with LIMIT, not EXISTS: PostgreSQL turns an EXISTS into a hash of
    # every confirmation ever made, where this looks up the few reminders of each session.
    by_reply = (
        select(literal(1))
        .select_from(
            reminder.join(IN, IN.c.prompt_id == reminder.c.id).join(
                OBS, OBS.c.inbound_id == IN.c.id
            )
        )
        .where(
            reminder.c.prompt_ref == a.c.id,
            reminder.c.prompt == Question.SESSION,
            OBS.c.kind == ObservationKind.SESSION_CONFIRMED,
        )
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )
    return or_(a.c.status == AppointmentStatus.CONFIRMED, by_reply)


def count_texts(
    conn: Connection,
    lo: datetime,
    hi: datetime,
    days: list[date],
    edges: list[datetime],
    found: Tally,
) -> None:
    """Questions that reached the provider, by kind and day, with their answers and the
    time to answer; exercise answers; texts undeliverable by error code.

    The first statement reads a day's texts from the index ix_outbound_sent_or_created
    alone (it holds every column the statement reads): at 100,000 patients a day has some
    200,000 texts, and fetching each row costs several times more."""
    day = day_index(sent_at(), edges)
    waited = case(
        (OUT.c.answered_at.is_(None), None),
        else_=_bucket(_seconds_between(conn, OUT.c.answered_at, sent_at())),
    )
    asked = (
        select(day.label("day"), OUT.c.prompt.label("kind"), waited.label("waited"))
        .where(sent_between(lo, hi), OUT.c.prompt.is_not(None), OUT.c.status.notin_(NOT_SENT))
        .subquery("asked")
    )
    for index, kind, start, n in conn.execute(
        select(asked.c.day, asked.c.kind, asked.c.waited, func.count()).group_by(
            asked.c.day, asked.c.kind, asked.c.waited
        )
    ):
        on = days[int(index)]
        found.add(on, Figure.SENT, kind, int(n))
        if start is not None:
            found.add(on, Figure.ANSWERED, kind, int(n))
            found.add(on, Figure.REPLY_TIME, int(start), int(n))

    def saw(kind: ObservationKind) -> ColumnElement[int]:
        return func.max(case((OBS.c.kind == kind, 1), else_=0))

    answers = (
        select(
            day.label("day"),
            saw(ObservationKind.EXERCISE_DONE).label("done"),
            saw(ObservationKind.EXERCISE_SKIPPED).label("skipped"),
        )
        .select_from(
            OUT.join(IN, IN.c.prompt_id == OUT.c.id).join(OBS, OBS.c.inbound_id == IN.c.id)
        )
        .where(
            sent_between(lo, hi),
            OUT.c.prompt == Question.EXERCISE,
            OUT.c.status.notin_(NOT_SENT),
            OBS.c.kind.in_(EXERCISE_ANSWERS),
        )
        .group_by(OUT.c.id)
        .subquery("answers")
    )
    for index, done, skipped in conn.execute(
        select(answers.c.day, func.sum(answers.c.done), func.sum(answers.c.skipped)).group_by(
            answers.c.day
        )
    ):
        found.add(days[int(index)], Figure.EXERCISE_DONE, "", int(done))
        found.add(days[int(index)], Figure.EXERCISE_SKIPPED, "", int(skipped))

    retry = OUT.alias("retry")
    sent_by_a_retry = exists().where(
        retry.c.reminder_id == OUT.c.reminder_id,
        retry.c.id > OUT.c.id,
        retry.c.status.notin_(NOT_SENT),
    )
    code = func.coalesce(OUT.c.error_code, "no code")
    for index, error, n in conn.execute(
        select(day, code, func.count())
        .where(OUT.c.status.in_(UNDELIVERABLE), sent_between(lo, hi), ~sent_by_a_retry)
        .group_by(day, code)
    ):
        found.add(days[int(index)], Figure.UNDELIVERABLE, error, int(n))


def count_first_reminders(
    conn: Connection, lo: datetime, hi: datetime, zone: ZoneInfo, found: Tally
) -> None:
    """Sessions whose first reminder reached the provider in [lo, hi), on that day, and
    whether they were confirmed: once each however many reminders they got."""
    earlier = OUT.alias("earlier")
    first_sent = func.min(sent_at())
    firsts = (
        select(OUT.c.prompt_ref.label("appointment_id"), first_sent.label("at"))
        .where(
            OUT.c.prompt == Question.SESSION,
            OUT.c.prompt_ref.is_not(None),
            OUT.c.status.notin_(NOT_SENT),
            sent_between(lo, hi),
            ~exists().where(
                earlier.c.prompt_ref == OUT.c.prompt_ref,
                earlier.c.prompt == Question.SESSION,
                earlier.c.status.notin_(NOT_SENT),
                sent_at(earlier) < lo,
            ),
        )
        .group_by(OUT.c.prompt_ref)
        .subquery("firsts")
    )
    rows = conn.execute(
        select(firsts.c.at, confirmed().label("confirmed")).join(
            A, A.c.id == firsts.c.appointment_id
        )
    )
    for at, was_confirmed in rows:
        on = local_date(_aware(at), zone)
        found.add(on, Figure.REMINDED, "all")
        if was_confirmed:
            found.add(on, Figure.REMINDED, "confirmed")


def _aware(at: datetime | str) -> datetime:
    """An aggregate loses the column type on SQLite: text or a naive UTC datetime."""
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
