"""The report's figures for a range, each defined once: in DEFINITIONS (which the page and the
CSV show verbatim) or in its docstring, so a number on screen always says how it was counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from outreach.rules.durations import median_duration, spoken_duration
from outreach.rules.localtime import local_date
from outreach.rules.vocabulary import Question, Severity
from outreach.staff.report import queries
from outreach.staff.report.daterange import DateRange, period_edges
from outreach.staff.report.queries import PromptCount

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
    "staff_reply": "Time from a patient's text in the range to the first text a member of"
    " staff wrote back (from the inbox, the patient page or `outreach messages send`),"
    " counted from the earliest text they had not been answered on; messages to many"
    " are not answers.",
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

    @property
    def escalations_total(self) -> int:
        return sum(self.escalations.values())


def build(engine: Engine, zone: ZoneInfo, span: DateRange, now: datetime) -> Report:
    """Every figure of the report for `span` (clinic-local days in `zone`) as of `now`."""
    lo, hi = span.bounds(zone)
    with engine.connect() as conn:
        prompts = queries.prompt_counts(conn, lo, hi, period_edges(span, zone))
        median_reply = queries.median_reply(conn, lo, hi, sum(c.answered for c in prompts))
        reminded = queries.reminded_sessions(conn, lo, hi)
        sessions = queries.past_sessions(conn, lo, min(hi, now))
        raised = queries.raised_escalations(conn, lo, hi)
        opt_outs = queries.opt_outs(conn, lo, hi)
        undeliverable = queries.undeliverable(conn, lo, hi)
        staff_waits = queries.staff_reply_waits(conn, lo, hi)

    def rate(rows: Iterable[Any], flag: str = "answered") -> Rate:
        listed = list(rows)
        return Rate(sum(1 for r in listed if r[flag]), len(listed))

    def asked(counts: Iterable[PromptCount], flag: str = "answered") -> Rate:
        listed = list(counts)
        return Rate(sum(getattr(c, flag) for c in listed), sum(c.sent for c in listed))

    kinds = sorted({c.kind for c in prompts})
    foot = [c for c in prompts if c.kind == Question.FOOT_CHECK]
    exercise = [c for c in prompts if c.kind == Question.EXERCISE]
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
        median_first_action=median_duration(acted),
        median_staff_reply=median_duration(staff_waits),
        staff_replies=len(staff_waits),
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


def duration(value: timedelta | None) -> str:
    """'45 s', '12 min', '3 h 5 min', '2 d 4 h'; '–' when there is nothing to measure."""
    return "–" if value is None else spoken_duration(value)
