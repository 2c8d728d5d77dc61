"""A plan's columns checked: its dates, the times texts go out at, the session phases and
the exercises. Each check reports its problems on the row and returns what it could read."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from outreach.config import ConfigError
from outreach.patients.fields import Row, one_line, printable
from outreach.rules.localtime import QuietHours, parse_hhmm
from outreach.rules.privacy import diagnosis_words
from outreach.rules.schedule import Phase, exercise_names, parse_weekdays

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
SMALL_NUMBER = re.compile(r"[0-9]{1,3}")
PHASE = re.compile(r"(?P<days>.+?)\s+at\s+(?P<time>\S+)\s+for\s+(?P<weeks>\S+)\s+weeks?", re.I)
PHASE_EXAMPLE = "mon wed fri at 10:00 for 4 weeks"
PHASE_WEEKS_MAX = 52
EXERCISE_NAME_MAX = 40
EXERCISES_MAX = 10


def date_field(row: Row, column: str, *, required: bool) -> date | None:
    text = row.get(column)
    if not text:
        if required:
            row.fail(column, "must not be blank")
        return None
    if not ISO_DATE.fullmatch(text):
        row.fail(column, "must be a date written YYYY-MM-DD, like 2025-03-17")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        row.fail(column, "is not a date on the calendar")
        return None


def send_time(row: Row, column: str, quiet: QuietHours) -> time | None:
    """A time of day a text goes out at: never inside quiet hours."""
    text = row.get(column)
    if not text:
        return None
    try:
        at = parse_hhmm(text, column)
    except ConfigError:
        row.fail(column, "must be a 24-hour time written HH:MM, like 18:30")
        return None
    if quiet.contains(at):
        last = datetime.combine(date(2000, 1, 2), quiet.start) - timedelta(minutes=1)
        row.fail(
            column,
            f"is inside quiet hours ({quiet}), when no texts are sent; "
            f"pick a time from {quiet.end:%H:%M} to {last:%H:%M}",
        )
        return None
    return at


def phases(row: Row) -> tuple[Phase, ...]:
    phases = []
    for part in (p.strip() for p in row.get("sessions").split(";")):
        if not part:
            continue
        match = PHASE.fullmatch(part)
        if match is None:
            row.fail("sessions", f"must look like {PHASE_EXAMPLE!r}", part)
            continue
        problems = []
        days: tuple[int, ...] = ()
        try:
            days = parse_weekdays(match["days"])
        except ValueError as exc:
            problems.append(str(exc))
        else:
            if not days:
                problems.append("it names no weekdays")
        at: time | None = None
        try:
            at = parse_hhmm(match["time"], "sessions")
        except ConfigError:
            problems.append(f"{match['time']!r} is not a 24-hour time like 10:00")
        weeks = int(match["weeks"]) if SMALL_NUMBER.fullmatch(match["weeks"]) else 0
        if not 1 <= weeks <= PHASE_WEEKS_MAX:
            problems.append(f"the weeks must be 1 to {PHASE_WEEKS_MAX}, not {match['weeks']!r}")
        if problems or at is None:
            row.fail("sessions", "has a problem: " + "; ".join(problems), part)
        else:
            phases.append(Phase(days, at, weeks))
    return tuple(phases)


def exercises(row: Row, quiet: QuietHours) -> tuple[tuple[int, ...], time | None, tuple[str, ...]]:
    days_text, time_text, names_text = (
        row.get(c) for c in ("exercise_days", "exercise_time", "exercises")
    )
    days: tuple[int, ...] = ()
    if days_text:
        try:
            days = parse_weekdays(days_text)
        except ValueError as exc:
            row.fail("exercise_days", f"has a problem: {exc}")
        else:
            if not days:
                row.fail("exercise_days", "names no weekdays")
        if not time_text:
            row.fail("exercise_time", "must not be blank when exercise_days is set")
        if not names_text:
            row.fail("exercises", "must not be blank when exercise_days is set")
    elif time_text or names_text:
        row.fail("exercise_days", "must not be blank when exercise_time or exercises is set")
    at = send_time(row, "exercise_time", quiet)
    names = exercise_names(names_text)
    if names_text and not names:
        row.fail("exercises", "lists no exercise names (separate them with ';')")
    if len(names) > EXERCISES_MAX:
        row.fail("exercises", f"lists {len(names)} exercises; the limit is {EXERCISES_MAX}")
    for name in names:
        found = diagnosis_words(name)
        if len(name) > EXERCISE_NAME_MAX:
            reason = f"is {len(name)} characters long; the limit is {EXERCISE_NAME_MAX}"
            row.fail("exercises", reason, name)
        if found:
            words = ", ".join(repr(w) for w in found)
            reason = f"names a diagnosis ({words}); texts are not private, so leave it out"
            row.fail("exercises", reason, name)
        if not one_line(name):
            row.fail("exercises", "must be on one line", name)
        elif not printable(name):
            row.fail("exercises", "must not contain control characters", name)
    return days, at, names
