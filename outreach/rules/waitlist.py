"""Who on the waitlist is offered a freed slot, in what order, and until when. Pure: the
caller gathers the facts.

A waitlisted patient names the weekdays and the hours (their own clock) at which they could
come at short notice. A slot fits them when it starts on one of those days, between the
earliest and the latest start, and they have no other session that local day. The longest
waiting are offered first, a few at a time; an offer stands for `offer_minutes`, never past
the moment the slot stops being offered (`min_notice_hours` before it starts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from outreach.rules.localtime import QuietHours, parse_hhmm
from outreach.rules.schedule import WEEKDAYS, parse_weekdays


def slot_occurrence(slot_id: int) -> str:
    """The outbox occurrence of a slot's offer and of its "it has gone" text to a patient."""
    return f"slot:{slot_id}"


@dataclass(frozen=True)
class Availability:
    weekdays: tuple[int, ...]  # 0 is Monday, in the patient's own zone
    earliest: time  # the earliest local start they could make...
    latest: time  # ...and the latest (a slot starting at `latest` fits)

    @property
    def days_text(self) -> str:
        """'mon,wed,fri' as the waitlistentry row stores it."""
        return ",".join(WEEKDAYS[d] for d in self.weekdays)

    @property
    def hours_text(self) -> str:
        return f"{self.earliest:%H:%M}-{self.latest:%H:%M}"


def parse_days(text: str) -> tuple[int, ...]:
    """'Mon Wed Fri', 'mon,wed', 'lun mié' -> (0, 2, 4); at least one day."""
    days = parse_weekdays(text)
    if not days:
        raise ValueError("name at least one weekday (mon tue wed thu fri sat sun)")
    return days


def parse_hours(text: str) -> tuple[time, time]:
    """'08:00-12:00' -> (08:00, 12:00); the first must come before the second."""
    parts = text.replace("–", "-").split("-")
    if len(parts) != 2:
        raise ValueError(f"hours must look like '08:00-12:00', got {text!r}")
    try:
        earliest, latest = (parse_hhmm(part.strip(), "hours") for part in parts)
    except ValueError:
        raise ValueError(f"hours must look like '08:00-12:00', got {text!r}") from None
    if earliest >= latest:
        raise ValueError(f"the earliest time must come before the latest, got {text!r}")
    return earliest, latest


def availability(days_text: str, hours_text: str) -> Availability:
    """Both fields at once; raises ValueError naming what is wrong."""
    earliest, latest = parse_hours(hours_text)
    return Availability(parse_days(days_text), earliest, latest)


def fits(free: Availability, starts_at: datetime, zone: ZoneInfo) -> bool:
    """The slot starts on one of their days, between their earliest and latest, their clock."""
    local = starts_at.astimezone(zone)
    return local.weekday() in free.weekdays and free.earliest <= local.time() <= free.latest


@dataclass(frozen=True)
class Candidate:
    patient_id: int
    added_at: datetime  # on the waitlist since
    free: Availability
    zone: ZoneInfo
    sessions: tuple[datetime, ...] = ()  # their live sessions near the slot
    quiet: QuietHours | None = None  # when given, they are not texted now if it is quiet


def clashes(candidate: Candidate, starts_at: datetime) -> bool:
    """Another live session of theirs on the slot's local day: one a day is enough."""
    day: date = starts_at.astimezone(candidate.zone).date()
    return any(s.astimezone(candidate.zone).date() == day for s in candidate.sessions)


def matching(
    candidates: Iterable[Candidate], starts_at: datetime, exclude: Iterable[int] = ()
) -> list[Candidate]:
    """Everyone the slot fits, longest waiting first (then by id, for a stable order).
    `exclude`: the patient who cancelled it and everyone offered it already."""
    left_out = set(exclude)
    found = [
        c
        for c in candidates
        if c.patient_id not in left_out
        and fits(c.free, starts_at, c.zone)
        and not clashes(c, starts_at)
    ]
    return sorted(found, key=lambda c: (c.added_at, c.patient_id))


def awake(candidate: Candidate, now: datetime) -> bool:
    """Texts can reach them now: an offer lasts an hour, one queued into the night is lost."""
    if candidate.quiet is None:
        return True
    return not candidate.quiet.contains(now.astimezone(candidate.zone).time())


def next_round(matches: Sequence[Candidate], now: datetime, at_once: int) -> list[Candidate]:
    """The next patients to offer the slot: the first `at_once` matches awake now. Those
    asleep keep their place and may be offered it in a later round."""
    return [c for c in matches if awake(c, now)][:at_once]


def closes_at(starts_at: datetime, min_notice_hours: int) -> datetime:
    """Offered no later than this: after it, a patient could not make it in time."""
    return starts_at - timedelta(hours=min_notice_hours)


def offer_expires(
    now: datetime, starts_at: datetime, offer_minutes: int, min_notice: int
) -> datetime:
    """An offer stands for `offer_minutes`, never past the slot's close."""
    return min(now + timedelta(minutes=offer_minutes), closes_at(starts_at, min_notice))


def still_offered(starts_at: datetime, now: datetime, min_notice_hours: int) -> bool:
    return now < closes_at(starts_at, min_notice_hours)
