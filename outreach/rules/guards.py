"""May this reminder go now, and is it still wanted after a wait for a send slot? Pure:
the dispatcher gathers the facts, this decides.

Safety over delivery: when in doubt, skip with a recorded reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from outreach.rules.localtime import QuietHours, place_outside_quiet
from outreach.rules.stafftexts import may_go_in_quiet_hours
from outreach.rules.vocabulary import ReminderKind, SkipReason

# Lower number wins a contested slot under the daily cap.
PRIORITY = {
    ReminderKind.CONSENT: 0,
    ReminderKind.SESSION: 1,
    ReminderKind.FOOT_CHECK: 2,
    ReminderKind.EXERCISE: 3,
    # A person wrote it: it takes no reminder's place under the cap and is not capped.
    ReminderKind.STAFF: 4,
    # About a session: its new time (never capped: the old reminder told them another),
    # or the one text the day they missed it.
    ReminderKind.SESSION_MOVED: 1,
    ReminderKind.NO_SHOW: 1,
    ReminderKind.SLOT_OFFER: 2,
    ReminderKind.SLOT_GONE: 3,
}
# Staff texts were checked when written (rules/stafftexts.py): consent or a text from the
# patient, and they go to paused patients (a pause stops reminders) and past the cap.
UNCAPPED = (ReminderKind.CONSENT, ReminderKind.STAFF, ReminderKind.SESSION_MOVED)


@dataclass(frozen=True)
class Facts:
    kind: str
    now: datetime
    expires_at: datetime
    zone: ZoneInfo
    quiet: QuietHours
    consent_granted: bool
    opted_out: bool
    paused: bool
    # False when what it is about no longer wants it (sending/about.py): its session was
    # cancelled, moved or marked, its no-show mark corrected, its waitlist slot taken.
    appointment_live: bool
    sent_today: int  # reminders already sent to this patient on their local today
    reserved_today: int  # higher-priority reminders still due later on their local today
    daily_cap: int
    # A staff text answering the patient's latest text may go in quiet hours until then.
    quiet_exempt_until: datetime | None = None


@dataclass(frozen=True)
class Send:
    pass


@dataclass(frozen=True)
class Skip:
    reason: str  # a SkipReason


@dataclass(frozen=True)
class GiveBack:
    """Not now, and not for a reason that ends it: back to pending as it is, for the next
    claim's `decide` to place."""

    reason: str  # a SkipReason


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str  # a SkipReason


Decision = Send | Skip | Defer


def decide(f: Facts) -> Decision:
    if f.opted_out:
        return Skip(SkipReason.OPTED_OUT)
    if f.kind == ReminderKind.CONSENT:
        if f.consent_granted:
            return Skip(SkipReason.ALREADY_CONSENTED)
    elif not f.consent_granted and f.kind != ReminderKind.STAFF:
        return Skip(SkipReason.NO_CONSENT)
    if f.paused and f.kind != ReminderKind.STAFF:
        return Skip(SkipReason.PAUSED)
    if not f.appointment_live:
        return Skip(unwanted(f.kind))
    if f.now >= f.expires_at:
        return Skip(_passed(f.kind))
    if f.kind not in UNCAPPED and f.sent_today + f.reserved_today >= f.daily_cap:
        return Skip(SkipReason.DAILY_CAP)
    if f.quiet.contains(f.now.astimezone(f.zone).time()) and not may_go_in_quiet_hours(
        f.now, f.quiet_exempt_until
    ):
        # A worker that was down, or a retry, can land in the night: wait for morning.
        # not_before=now, not now + a margin: at 07:59:30 the 08:00 edge is still ahead of us.
        later = place_outside_quiet(
            f.now, f.zone, f.quiet, not_after=f.expires_at, not_before=f.now
        )
        return (
            Defer(later, SkipReason.QUIET_HOURS)
            if later is not None
            else Skip(SkipReason.QUIET_HOURS)
        )
    return Send()


@dataclass(frozen=True)
class Waited:
    """What may have changed while a prepared reminder waited for a send slot."""

    kind: str
    now: datetime
    expires_at: datetime
    zone: ZoneInfo
    quiet: QuietHours
    opted_out: bool
    paused: bool
    quiet_exempt_until: datetime | None = None
    appointment_live: bool = True  # as in Facts, asked again after the wait


def recheck(f: Waited) -> Send | Skip | GiveBack:
    """After the wait for a send slot, which can be long when every worker shares one rate:
    is the text still wanted? An opt-out, a pause or the reminder's moment may have come
    meanwhile (skip), or quiet hours may have begun (give it back: the next claim's
    `decide` moves it to the morning)."""
    if f.opted_out:
        return Skip(SkipReason.OPTED_OUT)
    if f.paused and f.kind != ReminderKind.STAFF:
        return Skip(SkipReason.PAUSED)
    if not f.appointment_live:
        return Skip(unwanted(f.kind))
    if f.now >= f.expires_at:
        return Skip(_passed(f.kind))
    if f.quiet.contains(f.now.astimezone(f.zone).time()) and not may_go_in_quiet_hours(
        f.now, f.quiet_exempt_until
    ):
        return GiveBack(SkipReason.QUIET_HOURS)
    return Send()


def unwanted(kind: str) -> SkipReason:
    """Why a text is skipped when what it is about no longer wants it."""
    if kind in (ReminderKind.SLOT_OFFER, ReminderKind.SLOT_GONE):
        return SkipReason.SLOT_GONE
    if kind == ReminderKind.NO_SHOW:
        return SkipReason.MARK_CORRECTED
    return SkipReason.APPOINTMENT_CANCELLED


def _passed(kind: str) -> SkipReason:
    """A session reminder after the session began has its event passed; others expire."""
    return SkipReason.EVENT_PASSED if kind == ReminderKind.SESSION else SkipReason.EXPIRED
