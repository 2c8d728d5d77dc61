"""May this reminder go now? Pure: the dispatcher gathers the facts, this decides.

Safety over delivery: when in doubt, skip with a recorded reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from outreach.rules.localtime import QuietHours, place_outside_quiet

# Lower number wins a contested slot under the daily cap.
PRIORITY = {"consent": 0, "session": 1, "foot_check": 2, "exercise": 3}


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
    appointment_live: bool  # False when a session's appointment was cancelled or superseded
    sent_today: int  # reminders already sent to this patient on their local today
    reserved_today: int  # higher-priority reminders still due later on their local today
    daily_cap: int


@dataclass(frozen=True)
class Send:
    pass


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Defer:
    until: datetime
    reason: str


Decision = Send | Skip | Defer


def decide(f: Facts) -> Decision:
    if f.opted_out:
        return Skip("opted_out")
    if f.kind == "consent":
        if f.consent_granted:
            return Skip("already_consented")
    elif not f.consent_granted:
        return Skip("no_consent")
    if f.paused:
        return Skip("paused")
    if not f.appointment_live:
        return Skip("appointment_cancelled")
    if f.now >= f.expires_at:
        return Skip("event_passed" if f.kind == "session" else "expired")
    if f.kind != "consent" and f.sent_today + f.reserved_today >= f.daily_cap:
        return Skip("daily_cap")
    if f.quiet.contains(f.now.astimezone(f.zone).time()):
        # A worker that was down, or a retry, can land in the night: wait for morning.
        # not_before=now, not now + a margin: at 07:59:30 the 08:00 edge is still ahead of us.
        later = place_outside_quiet(
            f.now, f.zone, f.quiet, not_after=f.expires_at, not_before=f.now
        )
        return Defer(later, "quiet_hours") if later is not None else Skip("quiet_hours")
    return Send()
