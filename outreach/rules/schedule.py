"""What a plan says should happen, as pure functions over plain data.

The planner feeds these the plan rows and a UTC window; they return occurrences with
their send times already placed outside quiet hours. No database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from outreach.rules.localtime import QuietHours, at_local, place_outside_quiet
from outreach.rules.privacy import fold
from outreach.rules.vocabulary import ReminderKind, SkipReason

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SPANISH_WEEKDAYS = ("lun", "mar", "mie", "jue", "vie", "sab", "dom")


@lru_cache(maxsize=1024)  # the planner parses every plan's days on every run
def parse_weekdays(text: str) -> tuple[int, ...]:
    """'mon, wed fri' or 'mon/wed/fri' -> (0, 2, 4). Raises ValueError naming the bad word."""
    words = [w for w in text.replace(",", " ").replace("/", " ").split() if w]
    days: set[int] = set()
    for word in words:
        key = fold(word)[:3]  # "mié" and "sáb" as staff type them
        if key in WEEKDAYS:
            days.add(WEEKDAYS.index(key))
        elif key in SPANISH_WEEKDAYS:
            days.add(SPANISH_WEEKDAYS.index(key))
        else:
            raise ValueError(f"{word!r} is not a weekday (use mon tue wed thu fri sat sun)")
    return tuple(sorted(days))


def format_weekdays(days: tuple[int, ...]) -> str:
    return ",".join(WEEKDAYS[d] for d in days)


def exercise_names(text: str, *, per_line: bool = False) -> tuple[str, ...]:
    """The names in an exercise list, stripped, blanks dropped: "a; b; c" as a CSV column
    holds it, or one per line (`per_line`) as a plan stores it and the form's box sends it."""
    parts = text.splitlines() if per_line else text.split(";")
    return tuple(name for name in (part.strip() for part in parts) if name)


@dataclass(frozen=True)
class Phase:
    weekdays: tuple[int, ...]
    session_time: time
    weeks: int


@dataclass(frozen=True)
class PlanSpec:
    start_date: date
    end_date: date | None = None
    phases: tuple[Phase, ...] = ()
    foot_check_time: time | None = None
    exercise_days: tuple[int, ...] = ()
    exercise_time: time | None = None


def plan_spec(plan: Any, phases: Sequence[Phase]) -> PlanSpec:
    """A care plan row (start_date, end_date, foot_check_time, exercise_days as text,
    exercise_time) and its phases, as a PlanSpec."""
    return PlanSpec(
        start_date=plan.start_date,
        end_date=plan.end_date,
        phases=tuple(phases),
        foot_check_time=plan.foot_check_time,
        exercise_days=parse_weekdays(plan.exercise_days),
        exercise_time=plan.exercise_time,
    )


@dataclass(frozen=True)
class Occurrence:
    kind: str
    occurrence: str  # the natural key within (patient, kind)
    nominal: datetime  # when the plan says, before quiet-hours placement
    send_at: datetime
    expires_at: datetime
    appointment_id: int | None = None
    skip_reason: str | None = None


def local_days(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[date]:
    """Every local date that overlaps the UTC window [start, end), with a day of margin
    for zones whose offset can exceed 12 hours."""
    return iter(_local_days(start, end, zone))


@lru_cache(maxsize=1024)  # the planner asks once per plan, with the same window for all
def _local_days(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[date, ...]:
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    days = []
    while day <= last:
        days.append(day)
        day += timedelta(days=1)
    return tuple(days)


def in_plan(plan: PlanSpec, day: date) -> bool:
    return day >= plan.start_date and (plan.end_date is None or day <= plan.end_date)


def session_times(plan: PlanSpec, day: date) -> time | None:
    """The session time on `day` if a phase schedules one then."""
    if not in_plan(plan, day):
        return None
    into_phase = (day - plan.start_date).days  # phases run back to back from the start
    for phase in plan.phases:
        if into_phase < 7 * phase.weeks:
            return phase.session_time if day.weekday() in phase.weekdays else None
        into_phase -= 7 * phase.weeks
    return None


def appointments(plan: PlanSpec, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Session start instants (UTC) the phases create inside [start, end)."""
    found = []
    for day in local_days(start, end, zone):
        at = session_times(plan, day)
        if at is not None:
            instant = at_local(day, at, zone)
            if start <= instant < end:
                found.append(instant)
    return found


def daily_occurrences(
    plan: PlanSpec,
    zone: ZoneInfo,
    quiet: QuietHours,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[Occurrence]:
    """Foot checks and exercise prompts whose planned instant falls in [start, end) and is
    not already past. Each local date yields at most one of each kind."""
    days = tuple(day for day in local_days(start, end, zone) if in_plan(plan, day))
    times = (plan.foot_check_time, plan.exercise_time)
    # Only naive times are cache keys: aware ones compare equal across wall clocks.
    daily = _cached_daily if all(t is None or t.tzinfo is None for t in times) else _daily
    return list(daily(days, *times, plan.exercise_days, zone, quiet, start, end, now))


def _daily(
    days: tuple[date, ...],
    foot_check_time: time | None,
    exercise_time: time | None,
    exercise_days: tuple[int, ...],
    zone: ZoneInfo,
    quiet: QuietHours,
    start: datetime,
    end: datetime,
    now: datetime,
) -> tuple[Occurrence, ...]:
    found = []
    for day in days:
        wanted: list[tuple[str, time]] = []
        if foot_check_time is not None:
            wanted.append((ReminderKind.FOOT_CHECK, foot_check_time))
        if exercise_time is not None and day.weekday() in exercise_days:
            wanted.append((ReminderKind.EXERCISE, exercise_time))
        for kind, at in wanted:
            nominal = at_local(day, at, zone)
            if not start <= nominal < end or nominal < now:
                continue
            # A daily prompt belongs to its own day: sent that day, useless once night falls.
            expires = at_local(day, quiet.start, zone)
            if expires <= nominal and not quiet.contains(at):
                expires = nominal + timedelta(hours=1)
            day_begins = at_local(day, time(0), zone)
            placed = place_outside_quiet(
                nominal, zone, quiet, not_after=expires, not_before=max(now, day_begins)
            )
            found.append(_occurrence(kind, day.isoformat(), nominal, placed, expires))
    return tuple(found)


# In one planner run every plan has the same window, and most share their zone and prompt
# times with thousands of others: 100,000 plans come in a few hundred shapes. The instants
# in the key only take part in comparisons, so equal instants give equal answers, and
# occurrences are frozen, so sharing them is safe.
_cached_daily = lru_cache(maxsize=4096)(_daily)


def session_reminders(
    appointment_id: int,
    starts_at: datetime,
    zone: ZoneInfo,
    quiet: QuietHours,
    lead_hours: tuple[int, ...],
    now: datetime,
) -> list[Occurrence]:
    """Reminders `lead_hours` before a session, never at or after its start."""
    found = []
    for lead in lead_hours:
        nominal = starts_at - timedelta(hours=lead)
        if nominal < now:
            continue
        placed = place_outside_quiet(nominal, zone, quiet, not_after=starts_at, not_before=now)
        key = f"appt:{appointment_id}:{lead}h"
        found.append(
            _occurrence(ReminderKind.SESSION, key, nominal, placed, starts_at, appointment_id)
        )
    return found


def _occurrence(
    kind: str,
    key: str,
    nominal: datetime,
    placed: datetime | None,
    expires: datetime,
    appointment_id: int | None = None,
) -> Occurrence:
    if placed is None:
        return Occurrence(
            kind, key, nominal, nominal, expires, appointment_id, SkipReason.QUIET_HOURS
        )
    return Occurrence(kind, key, nominal, placed, expires, appointment_id)
