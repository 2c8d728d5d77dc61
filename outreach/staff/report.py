"""The clinic report: what the texts achieved over a range of clinic-local days.

Each figure below is defined once, in its docstring or in DEFINITIONS (which the page and
the CSV show verbatim), so a number on screen always says how it was counted.

Queries fetch the (instant, flags) rows of the range in one statement each and count in
Python: bucketing instants into clinic-local days differs between SQLite and PostgreSQL,
and zoneinfo gets DST right in one place. That is fine up to a few hundred thousand rows
per range (a year of a large clinic); beyond that, move the counting into SQL.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
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
)
from outreach.rules.datefilter import END_BEFORE_START, typed_days
from outreach.rules.durations import spoken_duration
from outreach.rules.localtime import at_local, day_bounds, local_date
from outreach.rules.vocabulary import AppointmentStatus, ConsentEventKind, Severity

DEFAULT_DAYS = 28
MAX_DAYS = 366
DAILY_UP_TO = 14  # longer ranges are charted by the week
# No-shows across US outpatient physical therapy (DOMAIN.md): the figure to compare with.
NO_SHOW_BASELINE = 10
# A text in one of these states never reached, or may never have reached, the phone.
NOT_SENT = ("pending", "failed", "undelivered", "unknown")
UNDELIVERABLE = ("failed", "undelivered")

# What each question is, for people: the `prompt` of an outbound text.
PROMPT_KINDS = {
    "consent": "Consent",
    "session": "Session reminder",
    "foot_check": "Foot check",
    "foot_followup": "Foot follow-up",
    "exercise": "Exercise",
}
# The provider error codes a clinic meets most (Twilio's numbering).
ERROR_CODES = {
    "21211": "not a valid phone number",
    "21610": "the recipient has opted out at the carrier",
    "21614": "not a mobile number",
    "30003": "phone off or unreachable",
    "30004": "blocked by the recipient",
    "30005": "unknown or inactive number",
    "30006": "landline or unreachable carrier",
    "30007": "filtered by the carrier",
    "30008": "unknown delivery error",
}

A = appointment_table
OUT = outbound_messages
IN = inbound_messages
OBS = observations

DEFINITIONS = {
    "confirmation": "Sessions whose reminder was sent in the range and that the patient"
    " confirmed (by text, or marked confirmed), out of all sessions reminded in the range.",
    "unconfirmed": "Sessions in the range that have started, were still on (not cancelled,"
    " moved or asked to be rescheduled) and were never confirmed, out of all such sessions."
    " Attendance is not recorded here, so this is not a no-show rate: a patient may come"
    " without replying, and one who confirmed may still miss.",
    "replies": "Questions sent in the range (consent, session, foot check and follow-up,"
    " exercise) that the patient answered, at any time since, out of all questions sent."
    " Texts that failed or were undeliverable are not counted as sent.",
    "median_reply": "Half of the answered questions were answered faster than this,"
    " counted from when the question was sent.",
    "foot_checks": "Daily foot-check questions sent in the range that got an answer"
    " (1 all OK, or 2 something new), out of all sent.",
    "exercise": "Exercise questions sent in the range answered DONE, out of all sent;"
    " SKIP and no answer count as not done.",
    "escalations": "Escalations raised in the range, by their severity now.",
    "first_action": "Time from an escalation being raised to the first staff action on it"
    " (acknowledged or resolved, whichever came first), over those acted on; and the share"
    " with no action yet.",
    "opt_outs": "Opt-outs in the range, by where they came from: sms (the patient texted"
    " STOP or asked to stop), provider (the carrier holds a STOP), staff or import.",
    "undeliverable": "Texts from the range the provider failed or could not deliver, by"
    " error code. A failed attempt that a retry then sent is not counted.",
}


@dataclass(frozen=True)
class DateRange:
    """Clinic-local days, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start 00:00, the day after end 00:00) as UTC instants: 25 or 23 hours at DST."""
        return day_bounds(self.start, self.end, zone)

    @property
    def bucket_days(self) -> int:
        return 1 if self.days <= DAILY_UP_TO else 7

    def periods(self) -> list[tuple[date, date]]:
        """The chart's buckets: days, or 7-day weeks from the start (the last may be short)."""
        size = self.bucket_days
        starts = [self.start + timedelta(days=i) for i in range(0, self.days, size)]
        return [(s, min(s + timedelta(days=size - 1), self.end)) for s in starts]

    def bucket(self, day: date) -> int:
        return (day - self.start).days // self.bucket_days


def default_range(today: date) -> DateRange:
    return DateRange(today - timedelta(days=DEFAULT_DAYS - 1), today)


def parse_range(
    start: str | None, end: str | None, today: date
) -> DateRange | dict[str, list[str]]:
    """The range typed in the form, or field errors. A blank end is today; a blank start is
    DEFAULT_DAYS before the end."""
    typed_start, typed_end, errors = typed_days(start, end)
    if errors:
        return errors
    last = typed_end or today
    first = typed_start or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:  # a start typed after today, the end left blank
        return {"end": [END_BEFORE_START]}
    if (last - first).days + 1 > MAX_DAYS:
        return {"end": [f"A report covers at most {MAX_DAYS} days."]}
    return DateRange(first, last)


@dataclass(frozen=True)
class Rate:
    count: int
    total: int

    @property
    def percent(self) -> float | None:
        """None when nothing was counted: an empty range has no rate, not 0%."""
        return round(100 * self.count / self.total, 1) if self.total else None

    def __str__(self) -> str:
        percent = self.percent
        return "–" if percent is None else f"{percent:g}%"


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    replies: Rate
    foot_checks: Rate
    escalations: int


@dataclass(frozen=True)
class Report:
    range: DateRange
    confirmation: Rate
    unconfirmed: Rate
    unconfirmed_unreminded: int  # of the unconfirmed, how many never got a reminder
    replies: Rate
    replies_by_kind: dict[str, Rate]
    median_reply: timedelta | None
    foot_checks: Rate
    exercise: Rate
    exercise_skipped: int
    escalations: dict[str, int]
    without_action: Rate
    median_first_action: timedelta | None
    opt_outs: dict[str, int]
    undeliverable: dict[str, int]
    periods: list[Period]

    @property
    def escalations_total(self) -> int:
        return sum(self.escalations.values())


def build(engine: Engine, zone: ZoneInfo, span: DateRange, now: datetime) -> Report:
    """Every figure of the report for `span` (clinic-local days in `zone`) as of `now`."""
    lo, hi = span.bounds(zone)
    with engine.connect() as conn:
        prompts = _prompt_counts(conn, lo, hi, _period_edges(span, zone))
        median_reply = _median_reply(conn, lo, hi, sum(c.answered for c in prompts))
        reminded = _reminded_sessions(conn, lo, hi)
        sessions = _past_sessions(conn, lo, min(hi, now))
        raised = _escalations(conn, lo, hi)
        opt_outs = _opt_outs(conn, lo, hi)
        undeliverable = _undeliverable(conn, lo, hi)

    def rate(rows: Iterable[Any], flag: str = "answered") -> Rate:
        listed = list(rows)
        return Rate(sum(1 for r in listed if r[flag]), len(listed))

    def asked(counts: Iterable[PromptCount], flag: str = "answered") -> Rate:
        listed = list(counts)
        return Rate(sum(getattr(c, flag) for c in listed), sum(c.sent for c in listed))

    kinds = sorted({c.kind for c in prompts})
    foot = [c for c in prompts if c.kind == "foot_check"]
    exercise = [c for c in prompts if c.kind == "exercise"]
    unconfirmed = [s for s in sessions if not s["confirmed"]]
    acted = [e["first_action"] - e["at"] for e in raised if e["first_action"] is not None]

    raised_in: list[int] = [0 for _ in span.periods()]
    for e in raised:
        raised_in[span.bucket(local_date(e["at"], zone))] += 1

    return Report(
        range=span,
        confirmation=rate(reminded, "confirmed"),
        unconfirmed=Rate(len(unconfirmed), len(sessions)),
        unconfirmed_unreminded=sum(1 for s in unconfirmed if not s["reminded"]),
        replies=asked(prompts),
        replies_by_kind={k: asked(c for c in prompts if c.kind == k) for k in kinds},
        median_reply=median_reply,
        foot_checks=asked(foot),
        exercise=asked(exercise, "done"),
        exercise_skipped=sum(c.skipped for c in exercise),
        escalations={
            **{str(s): 0 for s in Severity},
            **Counter(str(e["severity"]) for e in raised),
        },
        without_action=Rate(len(raised) - len(acted), len(raised)),
        median_first_action=_median(acted),
        opt_outs=opt_outs,
        undeliverable=undeliverable,
        periods=[
            Period(
                first,
                last,
                asked(c for c in prompts if c.period == index),
                asked(c for c in foot if c.period == index),
                raised_in[index],
            )
            for index, (first, last) in enumerate(span.periods())
        ],
    )


def _median(durations: list[timedelta]) -> timedelta | None:
    if not durations:
        return None
    ordered = sorted(durations)
    half = len(ordered) // 2
    middle = ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
    return timedelta(seconds=round(middle.total_seconds()))


def _sent_at() -> ColumnElement[datetime]:
    # Replies sent inside a webhook answer get sent_at when Twilio queues them; a row the
    # provider never answered has only created_at.
    return func.coalesce(OUT.c.sent_at, OUT.c.created_at)


# Who answered what is joined in as grouped subqueries rather than a correlated EXISTS per
# row: inbound.prompt_id and outbound.prompt_ref have no index, and a hash join reads each
# table once on both databases.


def _exercise_answers(lo: datetime) -> Subquery:
    """Per question answered since `lo`, whether the answer was exercise DONE or SKIP."""

    def saw(kind: str) -> ColumnElement[int]:
        return func.max(case((OBS.c.kind == kind, 1), else_=0))

    return (
        select(
            IN.c.prompt_id,
            saw("exercise_done").label("done"),
            saw("exercise_skipped").label("skipped"),
        )
        .join(OBS, OBS.c.inbound_id == IN.c.id)
        .where(
            IN.c.prompt_id.is_not(None),
            IN.c.received_at >= lo,  # an answer comes after its question
            OBS.c.kind.in_(("exercise_done", "exercise_skipped")),
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
        .where(reminder.c.prompt == "session", OBS.c.kind == "session_confirmed")
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
    period: int  # index into DateRange.periods()
    sent: int
    answered: int
    done: int  # exercise answered DONE
    skipped: int  # exercise answered SKIP


def _period_edges(span: DateRange, zone: ZoneInfo) -> list[datetime]:
    """Where each chart period after the first starts, as UTC instants (DST-correct)."""
    return [at_local(first, time(0), zone) for first, _ in span.periods()[1:]]


def _prompt_counts(
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


def _median_reply(conn: Connection, lo: datetime, hi: datetime, answered: int) -> timedelta | None:
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
    return _median([timedelta(seconds=round(float(s), 3)) for s in middle])


def _reminded_sessions(conn: Connection, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
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
            OUT.c.prompt == "session",
            OUT.c.status.notin_(NOT_SENT),
            sent_at >= lo,
            sent_at < hi,
        )
        .distinct()
    ).all()
    return [{"id": r.id, "confirmed": bool(r.confirmed)} for r in rows]


def _past_sessions(conn: Connection, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    """Sessions starting in [lo, hi) that were still on (scheduled or confirmed): whether
    confirmed, and whether any reminder of theirs reached the provider."""
    by_reply = _confirmed_by_reply()
    reminded = (
        select(OUT.c.prompt_ref.label("appointment_id"))
        .where(
            # Said outright, so the prompt_ref index is searched, not read whole: most texts
            # (foot checks, exercises, answers) have none.
            OUT.c.prompt_ref.is_not(None),
            OUT.c.prompt == "session",
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


def _escalations(conn: Connection, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
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


def _opt_outs(conn: Connection, lo: datetime, hi: datetime) -> dict[str, int]:
    C = consent_events
    rows = conn.execute(
        select(C.c.source, func.count())
        .where(C.c.event == ConsentEventKind.OPTED_OUT, C.c.at >= lo, C.c.at < hi)
        .group_by(C.c.source)
        .order_by(C.c.source)
    ).all()
    return {source: int(count) for source, count in rows}


def _undeliverable(conn: Connection, lo: datetime, hi: datetime) -> dict[str, int]:
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


def duration(value: timedelta | None) -> str:
    """'45 s', '12 min', '3 h 5 min', '2 d 4 h'; '–' when there is nothing to measure."""
    return "–" if value is None else spoken_duration(value)


def to_csv(report: Report) -> str:
    """The report as long-format CSV, one figure a row: counts only, no patient data."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["period_start", "period_end", "metric", "count", "total", "value", "unit"])
    whole = (report.range.start.isoformat(), report.range.end.isoformat())

    def rate(period: tuple[str, str], metric: str, r: Rate) -> None:
        value = "" if r.percent is None else f"{r.percent:g}"
        writer.writerow([*period, metric, r.count, r.total, value, "%"])

    def minutes(metric: str, value: timedelta | None, count: int) -> None:
        shown = "" if value is None else f"{value.total_seconds() / 60:.1f}"
        writer.writerow([*whole, metric, count, "", shown, "min"])

    def counts(prefix: str, values: dict[str, int]) -> None:
        for key, n in values.items():
            writer.writerow([*whole, f"{prefix}_{key}", n, "", "", ""])

    rate(whole, "confirmation_rate", report.confirmation)
    rate(whole, "unconfirmed_sessions", report.unconfirmed)
    writer.writerow(
        [*whole, "unconfirmed_sessions_never_reminded", report.unconfirmed_unreminded, "", "", ""]
    )
    writer.writerow([*whole, "no_show_baseline", "", "", NO_SHOW_BASELINE, "%"])
    rate(whole, "reply_rate", report.replies)
    for kind, r in report.replies_by_kind.items():
        rate(whole, f"reply_rate_{kind}", r)
    minutes("median_time_to_reply", report.median_reply, report.replies.count)
    rate(whole, "foot_check_adherence", report.foot_checks)
    rate(whole, "exercise_completion", report.exercise)
    writer.writerow([*whole, "exercise_skipped", report.exercise_skipped, "", "", ""])
    counts("escalations", report.escalations)
    rate(whole, "escalations_without_action", report.without_action)
    acted = report.without_action.total - report.without_action.count
    minutes("median_time_to_first_action", report.median_first_action, acted)
    counts("opt_outs", report.opt_outs)
    counts("undeliverable", report.undeliverable)
    for p in report.periods:
        period = (p.start.isoformat(), p.end.isoformat())
        rate(period, "reply_rate", p.replies)
        rate(period, "foot_check_adherence", p.foot_checks)
        writer.writerow([*period, "escalations", p.escalations, "", "", ""])
    return out.getvalue()
