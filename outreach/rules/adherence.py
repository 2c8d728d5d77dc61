"""Whether a patient keeps up: the foot-check calendar, the exercise days and the weekly
completion, classified from the questions we texted and the answers that came.

Days are the patient's own: a reply at 22:00 in New York belongs to that evening, not to
the next UTC date. Pure, over plain rows, and tested alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

CALENDAR_DAYS = 28
EXERCISE_WEEKS = 8


@dataclass(frozen=True)
class Prompt:
    """A question we texted: when, and until when an answer counts."""

    id: int
    sent: datetime
    reply_until: datetime | None
    answered: bool


@dataclass(frozen=True)
class Answer:
    kind: str  # an observation kind: foot_ok, foot_problem, exercise_done...
    at: datetime
    prompt_id: int | None  # the question the reply answered, when known
    value: int | None = None


@dataclass(frozen=True)
class Day:
    day: date
    state: str  # ok, problem, missed, waiting, none (foot); done, skipped, missed, waiting
    value: int | None = None  # the pain reported with an exercise


def _answer_days(
    answers: Iterable[Answer], prompts: Sequence[Prompt], zone: ZoneInfo
) -> dict[date, list[Answer]]:
    """Each answer on the day of the question it answered; a late reply to yesterday's
    check is yesterday's result."""
    asked = {p.id: p.sent.astimezone(zone).date() for p in prompts}
    found: dict[date, list[Answer]] = {}
    for answer in answers:
        day = asked.get(answer.prompt_id or -1, answer.at.astimezone(zone).date())
        found.setdefault(day, []).append(answer)
    return found


def _prompt_days(prompts: Iterable[Prompt], zone: ZoneInfo) -> dict[date, list[Prompt]]:
    found: dict[date, list[Prompt]] = {}
    for prompt in prompts:
        found.setdefault(prompt.sent.astimezone(zone).date(), []).append(prompt)
    return found


def _unanswered(prompts: Sequence[Prompt], now: datetime) -> str:
    still_open = any(not p.answered and p.reply_until and p.reply_until > now for p in prompts)
    return "waiting" if still_open else "missed"


def foot_calendar(
    prompts: Sequence[Prompt],
    answers: Sequence[Answer],
    zone: ZoneInfo,
    now: datetime,
    days: int = CALENDAR_DAYS,
) -> list[Day]:
    """The last `days` local dates, oldest first: a problem outranks an OK the same day."""
    today = now.astimezone(zone).date()
    return foot_days(prompts, answers, zone, now, today - timedelta(days=days - 1), today)


def foot_days(
    prompts: Sequence[Prompt],
    answers: Sequence[Answer],
    zone: ZoneInfo,
    now: datetime,
    first: date,
    last: date,
) -> list[Day]:
    """Each local date from `first` to `last`, oldest first, as foot_calendar classifies
    them (a month of the calendar; days after today have no text yet)."""
    answered = _answer_days(answers, prompts, zone)
    asked = _prompt_days(prompts, zone)
    calendar = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        kinds = {a.kind for a in answered.get(day, [])}
        if "foot_problem" in kinds:
            state = "problem"
        elif "foot_ok" in kinds:
            state = "ok"
        elif day in asked:
            state = _unanswered(asked[day], now)
        else:
            state = "none"
        calendar.append(Day(day, state))
    return calendar


def exercise_days(
    prompts: Sequence[Prompt], answers: Sequence[Answer], zone: ZoneInfo, now: datetime
) -> list[Day]:
    """One entry per day an exercise text went out (or an answer came), oldest first."""
    answered = _answer_days(answers, prompts, zone)
    asked = _prompt_days(prompts, zone)
    found = []
    for day in sorted(set(answered) | set(asked)):
        replies = answered.get(day, [])
        done = [a for a in replies if a.kind == "exercise_done"]
        if done:
            found.append(Day(day, "done", done[-1].value))
        elif replies:
            found.append(Day(day, "skipped"))
        else:
            found.append(Day(day, _unanswered(asked[day], now)))
    return found


def weekly_completion(days: Sequence[Day], now: datetime, zone: ZoneInfo) -> list[Day]:
    """Per local week (Monday first), the share of exercise days answered DONE, in percent,
    as `value`; None for a week with no exercise day settled yet."""
    this_monday = now.astimezone(zone).date()
    this_monday -= timedelta(days=this_monday.weekday())
    weeks = []
    for back in range(EXERCISE_WEEKS - 1, -1, -1):
        monday = this_monday - timedelta(weeks=back)
        settled = [
            d for d in days if monday <= d.day < monday + timedelta(days=7) and d.state != "waiting"
        ]
        done = sum(1 for d in settled if d.state == "done")
        percent = round(100 * done / len(settled)) if settled else None
        weeks.append(Day(monday, "week", percent))
    return weeks
