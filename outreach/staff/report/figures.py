"""The report's figures for a range, each defined once: in DEFINITIONS (which the page and the
CSV show verbatim) or in its docstring, so a number on screen always says how it was counted."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from outreach.rules.durations import spoken_duration
from outreach.rules.localtime import day_bounds, local_date
from outreach.rules.vocabulary import Attendance, Question, Severity
from outreach.staff.report import rollups
from outreach.staff.report.counts import CHARTED, Figure, Tally
from outreach.staff.report.daterange import DateRange
from outreach.staff.report.histogram import low_median
from outreach.staff.report.sessioncounts import count_sessions
from outreach.staff.report.tally import count_days

# No-shows across US outpatient physical therapy (DOMAIN.md): the figure to compare with.
NO_SHOW_BASELINE = 10

# What each question is, for people: the `prompt` of an outbound text.
PROMPT_KINDS = {
    Question.CONSENT: "Consent",
    Question.SESSION: "Session reminder",
    Question.FOOT_CHECK: "Foot check",
    Question.FOOT_FOLLOWUP: "Foot follow-up",
    Question.EXERCISE: "Exercise",
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

DEFINITIONS = {
    "no_shows": "Sessions that started in the range and that staff marked as a no-show, out"
    " of those marked attended or no-show. Unmarked and cancelled sessions are not counted.",
    "no_shows_by_confirmation": "The same no-show rate for sessions the patient had"
    " confirmed (by text, or marked confirmed) and for those never confirmed: what the"
    " reminders' question buys.",
    "late_cancellations": "Sessions starting in the range cancelled less than the clinic's"
    " late-cancellation notice before their start (or after it), by who cancelled, out of"
    " all that side's cancellations of sessions in the range.",
    "waitlist": "Slots of cancelled sessions opened to the waitlist in the range that a"
    " waitlisted patient took (an appointment made from the waitlist), out of all opened.",
    "confirmation": "Sessions whose first reminder was sent in the range and that the"
    " patient confirmed (by text, or marked confirmed), out of all such sessions.",
    "unconfirmed": "Sessions in the range that have started, were still on (not cancelled,"
    " moved or asked to be rescheduled) and were never confirmed, out of all such sessions."
    " Not a no-show rate: a patient may come without replying, and one who confirmed may"
    " still miss (see the no-show rate above).",
    "replies": "Questions sent in the range (consent, session, foot check and follow-up,"
    " exercise) that the patient answered, at any time since, out of all questions sent."
    " Texts that failed or were undeliverable are not counted as sent.",
    "median_reply": "Half of the answered questions were answered at least this fast,"
    " counted from when the question was sent (for an even count, the lower middle one).",
    "foot_checks": "Daily foot-check questions sent in the range that got an answer"
    " (1 all OK, or 2 something new), out of all sent.",
    "exercise": "Exercise questions sent in the range answered DONE, out of all sent;"
    " SKIP and no answer count as not done.",
    "escalations": "Escalations raised in the range, by their severity now.",
    "first_action": "Time from an escalation being raised to the first staff action on it"
    " (acknowledged or resolved, whichever came first), over those acted on (the median);"
    " and the share with no action yet.",
    "staff_reply": "Time from a patient's text to the first text a member of staff wrote"
    " back (from the inbox, the patient page or `outreach messages send`), counted from the"
    " earliest text they had not been answered on, for waits that began in the range (the"
    " median); messages to many are not answers.",
    "opt_outs": "Opt-outs in the range, by where they came from: sms (the patient texted"
    " STOP or asked to stop), provider (the carrier holds a STOP), staff or import.",
    "undeliverable": "Texts from the range the provider failed or could not deliver, by"
    " error code. A failed attempt that a retry then sent is not counted.",
}


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
    no_shows: Rate
    no_shows_confirmed: Rate
    no_shows_unconfirmed: Rate
    late_cancellations: dict[str, Rate]  # by who cancelled (Attendance)
    waitlist_fills: Rate
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
    median_staff_reply: timedelta | None
    staff_replies: int  # patients' texts a person answered by text
    opt_outs: dict[str, int]
    undeliverable: dict[str, int]
    periods: list[Period]
    # When a worker last recounted the stored days, if what it has not counted yet (`pending`
    # UTC dates of writes) was left out; None: everything was counted for this report.
    counted_at: datetime | None = None
    pending: int = 0

    @property
    def escalations_total(self) -> int:
        return sum(self.escalations.values())


def build(
    engine: Engine,
    zone: ZoneInfo,
    span: DateRange,
    now: datetime,
    late_cancel_hours: int = 24,
    recount: bool = False,
) -> Report:
    """Every figure of the report for `span` (clinic-local days in `zone`) as of `now`,
    from the rollups, but for the sessions of today and later, counted from the raw rows:
    only those that have started count. The days marked stale are recounted first unless a
    worker keeps the rollups (rollups.py): then the report says when they were counted.
    `recount`: every figure from the raw rows (what the rollups are checked against)."""
    if recount:
        with engine.connect() as conn:
            counted = count_days(conn, zone, span.start, span.end, until=now)
        totals: Counter[tuple[str, str]] = Counter()
        for (_, figure, key), n in counted.items():
            totals[(figure, key)] += n
        charted = Tally({k: n for k, n in counted.items() if k[1] in CHARTED})
        return _report(span, charted, totals, late_cancel_hours)
    today = local_date(now, zone)
    kept = rollups.freshness(engine, now, span.start, span.end)
    if kept.refreshed_at is None:
        rollups.refresh(engine, zone)
    charted, totals = rollups.read(engine, span.start, span.end, live_from=today)
    if today <= span.end:
        lo, hi = day_bounds(max(span.start, today), span.end, zone)
        started = Tally()
        with engine.connect() as conn:
            count_sessions(conn, lo, min(hi, now), zone, started)
        for (_, figure, key), n in started.items():
            totals[(figure, key)] += n
    found = _report(span, charted, totals, late_cancel_hours)
    if kept.refreshed_at is not None and kept.pending:
        return replace(found, counted_at=kept.refreshed_at, pending=kept.pending)
    return found


def _report(
    span: DateRange,
    charted: Tally,
    totals: Counter[tuple[str, str]],
    late_hours: int,
) -> Report:
    def keys(figure: Figure) -> dict[str, int]:
        return {k: n for (f, k), n in sorted(totals.items()) if f == figure and n}

    def one(figure: Figure, key: str = "") -> int:
        return totals.get((str(figure), key), 0)

    def histogram(figure: Figure) -> dict[int, int]:
        return {int(k): n for k, n in keys(figure).items()}

    def asked(kinds: set[str], answered: Figure = Figure.ANSWERED) -> Rate:
        return Rate(sum(one(answered, k) for k in kinds), sum(one(Figure.SENT, k) for k in kinds))

    def no_show_rate(sides: tuple[str, ...]) -> Rate:
        missed = sum(one(Figure.MARKED, f"{s}:{Attendance.NO_SHOW}") for s in sides)
        came = sum(one(Figure.MARKED, f"{s}:{Attendance.ATTENDED}") for s in sides)
        return Rate(missed, missed + came)

    def late(who: Attendance) -> Rate:
        notice = {int(k.split(":")[1]): n for k, n in keys(Figure.CANCELLED).items()
                  if k.startswith(f"{who}:")}  # fmt: skip
        return Rate(sum(n for h, n in notice.items() if h < late_hours), sum(notice.values()))

    sent_kinds = set(keys(Figure.SENT))
    exercise_sent = one(Figure.SENT, Question.EXERCISE)
    raised = keys(Figure.ESCALATIONS)
    unacted = one(Figure.UNACTED)
    waits = histogram(Figure.STAFF_REPLY)
    periods = span.periods()
    by_period: list[Counter[tuple[str, str]]] = [Counter() for _ in periods]
    for (day, figure, key), n in charted.items():
        if span.start <= day <= span.end:
            by_period[span.bucket(day)][(figure, key)] += n

    def period_rate(index: int, kinds: set[str] | None = None) -> Rate:
        counts = by_period[index]
        chosen = [k for f, k in counts if f == Figure.SENT and (kinds is None or k in kinds)]
        return Rate(
            sum(counts[(Figure.ANSWERED, k)] for k in chosen),
            sum(counts[(Figure.SENT, k)] for k in chosen),
        )

    foot = {str(Question.FOOT_CHECK)}
    return Report(
        range=span,
        no_shows=no_show_rate(("confirmed", "unconfirmed")),
        no_shows_confirmed=no_show_rate(("confirmed",)),
        no_shows_unconfirmed=no_show_rate(("unconfirmed",)),
        late_cancellations={
            str(who): late(who)
            for who in (Attendance.CANCELLED_BY_PATIENT, Attendance.CANCELLED_BY_CLINIC)
        },
        waitlist_fills=Rate(one(Figure.SLOTS, "filled"), one(Figure.SLOTS, "opened")),
        confirmation=Rate(one(Figure.REMINDED, "confirmed"), one(Figure.REMINDED, "all")),
        unconfirmed=Rate(one(Figure.SESSIONS, "unconfirmed"), one(Figure.SESSIONS, "on")),
        unconfirmed_unreminded=one(Figure.SESSIONS, "unconfirmed_unreminded"),
        replies=asked(sent_kinds),
        replies_by_kind={k: asked({k}) for k in sorted(sent_kinds)},
        median_reply=low_median(histogram(Figure.REPLY_TIME)),
        foot_checks=asked(foot),
        exercise=Rate(one(Figure.EXERCISE_DONE), exercise_sent),
        exercise_skipped=one(Figure.EXERCISE_SKIPPED),
        escalations={**{str(s): 0 for s in Severity}, **raised},
        without_action=Rate(unacted, sum(raised.values())),
        median_first_action=low_median(histogram(Figure.FIRST_ACTION)),
        median_staff_reply=low_median(waits),
        staff_replies=sum(waits.values()),
        opt_outs=keys(Figure.OPT_OUTS),
        undeliverable=keys(Figure.UNDELIVERABLE),
        periods=[
            Period(
                first,
                last,
                period_rate(index),
                period_rate(index, foot),
                sum(n for (f, _), n in by_period[index].items() if f == Figure.ESCALATIONS),
            )
            for index, (first, last) in enumerate(periods)
        ],
    )


def duration(value: timedelta | None) -> str:
    """'45 s', '12 min', '3 h 5 min', '2 d 4 h'; '–' when there is nothing to measure."""
    return "–" if value is None else spoken_duration(value)
