"""May this reminder go now? Safety rules first, then the cap, then the clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.rules.guards import Decision, Defer, Facts, Send, Skip, Waited, decide, recheck
from outreach.rules.localtime import QuietHours
from outreach.rules.vocabulary import ReminderKind, SkipReason

NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_QUIET = QuietHours(time(21), time(8))
# Monday 23 November 2026, 10:00 in New York (EST, UTC-5): well inside the sending window.
MORNING = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def facts(**overrides: Any) -> Facts:
    """A consented patient's foot check, due now, nothing sent yet; tests change one thing."""
    base = Facts(
        kind="foot_check",
        now=MORNING,
        expires_at=MORNING + timedelta(hours=18),
        zone=NEW_YORK,
        quiet=DEFAULT_QUIET,
        consent_granted=True,
        opted_out=False,
        paused=False,
        appointment_live=True,
        sent_today=0,
        reserved_today=0,
        daily_cap=3,
    )
    return replace(base, **overrides)


def ny(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({}, Send(), id="sends-a-consented-reminder-in-the-day"),
        pytest.param({"opted_out": True}, Skip("opted_out"), id="never-texts-an-opted-out-patient"),
        pytest.param(
            {"kind": "consent", "consent_granted": False, "opted_out": True},
            Skip("opted_out"),
            id="not-even-the-consent-request-after-an-opt-out",
        ),
        pytest.param(
            {"opted_out": True, "paused": True, "now": MORNING + timedelta(days=1)},
            Skip("opted_out"),
            id="opt-out-is-the-reason-recorded-first",
        ),
        pytest.param({"kind": "consent", "consent_granted": False}, Send(), id="asks-for-consent"),
        pytest.param(
            {"kind": "consent"}, Skip("already_consented"), id="asks-for-consent-only-once"
        ),
        pytest.param(
            {"kind": "session", "consent_granted": False},
            Skip("no_consent"),
            id="no-session-reminder-before-consent",
        ),
        pytest.param(
            {"kind": "foot_check", "consent_granted": False},
            Skip("no_consent"),
            id="no-foot-check-before-consent",
        ),
        pytest.param(
            {"kind": "exercise", "consent_granted": False},
            Skip("no_consent"),
            id="no-exercise-reminder-before-consent",
        ),
        pytest.param({"paused": True}, Skip("paused"), id="nothing-while-paused"),
        pytest.param(
            {"kind": "session", "appointment_live": False},
            Skip("appointment_cancelled"),
            id="no-reminder-for-a-cancelled-appointment",
        ),
        pytest.param(
            {"kind": "session", "expires_at": MORNING},
            Skip("event_passed"),
            id="no-session-reminder-once-it-starts",
        ),
        pytest.param(
            {"kind": "session", "expires_at": MORNING - timedelta(hours=1)},
            Skip("event_passed"),
            id="no-session-reminder-after-it-started",
        ),
        pytest.param(
            {"kind": "session", "expires_at": MORNING + timedelta(seconds=1)},
            Send(),
            id="session-reminder-just-before-it-starts",
        ),
        pytest.param(
            {"expires_at": MORNING}, Skip("expired"), id="a-foot-check-past-its-window-expires"
        ),
        pytest.param(
            {"kind": "exercise", "expires_at": MORNING - timedelta(minutes=1)},
            Skip("expired"),
            id="an-exercise-reminder-past-its-window-expires",
        ),
        pytest.param({"sent_today": 2}, Send(), id="under-the-cap"),
        pytest.param({"sent_today": 3}, Skip("daily_cap"), id="at-the-cap"),
        pytest.param({"sent_today": 5}, Skip("daily_cap"), id="over-the-cap"),
        pytest.param(
            {"sent_today": 2, "reserved_today": 1},
            Skip("daily_cap"),
            id="the-last-slot-is-kept-for-a-higher-priority-reminder",
        ),
        pytest.param(
            {"sent_today": 0, "reserved_today": 3},
            Skip("daily_cap"),
            id="every-slot-reserved",
        ),
        pytest.param(
            {"sent_today": 1, "reserved_today": 1}, Send(), id="a-slot-left-after-reservations"
        ),
        pytest.param({"sent_today": 4, "daily_cap": 5}, Send(), id="a-clinic-may-raise-the-cap"),
        pytest.param(
            {"kind": "consent", "consent_granted": False, "sent_today": 3, "reserved_today": 2},
            Send(),
            id="the-consent-request-is-exempt-from-the-cap",
        ),
        pytest.param(
            {"sent_today": 3, "now": ny(2026, 11, 23, 22), "expires_at": ny(2026, 11, 24, 16)},
            Skip("daily_cap"),
            id="capped-at-night-is-skipped-not-deferred",
        ),
    ],
)
def test_decide_applies_the_sending_rules_in_order(
    overrides: dict[str, Any], expected: Decision
) -> None:
    assert decide(facts(**overrides)) == expected


# Default quiet hours 21:00-08:00 in New York: EST is UTC-5 (November), EDT UTC-4 (summer).
@pytest.mark.parametrize(
    ("now", "until"),
    [
        pytest.param(
            datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
            datetime(2026, 11, 23, 13, 0, tzinfo=UTC),
            id="07:00-waits-until-08:00-the-same-morning",
        ),
        pytest.param(
            ny(2026, 11, 23, 21, 0),
            datetime(2026, 11, 24, 13, 0, tzinfo=UTC),
            id="21:00-sharp-is-quiet-and-waits-for-next-morning",
        ),
        pytest.param(
            ny(2026, 11, 23, 23, 30),
            datetime(2026, 11, 24, 13, 0, tzinfo=UTC),
            id="23:30-waits-for-next-morning",
        ),
        pytest.param(
            ny(2026, 11, 24, 3, 0),
            datetime(2026, 11, 24, 13, 0, tzinfo=UTC),
            id="03:00-waits-for-the-same-morning",
        ),
        pytest.param(
            ny(2026, 11, 24, 7, 59, 30),
            datetime(2026, 11, 24, 13, 0, tzinfo=UTC),
            id="07:59:30-waits-thirty-seconds-rather-than-skipping",
        ),
        pytest.param(
            ny(2026, 7, 14, 22, 0),
            datetime(2026, 7, 15, 12, 0, tzinfo=UTC),
            id="summer-time-08:00-is-12:00-utc",
        ),
        pytest.param(
            ny(2026, 3, 7, 21, 30),
            datetime(2026, 3, 8, 12, 0, tzinfo=UTC),
            id="across-spring-forward-the-morning-is-in-edt",
        ),
        pytest.param(
            ny(2026, 10, 31, 21, 30),
            datetime(2026, 11, 1, 13, 0, tzinfo=UTC),
            id="across-fall-back-the-morning-is-in-est",
        ),
    ],
)
def test_quiet_hours_defer_to_08_00_patient_local(now: datetime, until: datetime) -> None:
    decision = decide(facts(now=now, expires_at=now + timedelta(hours=18)))
    assert decision == Defer(until, "quiet_hours")
    assert isinstance(decision, Defer)
    assert decision.until.astimezone(NEW_YORK).time() == time(8, 0)


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(ny(2026, 11, 23, 8, 0), id="08:00-is-open"),
        pytest.param(ny(2026, 11, 23, 20, 59, 59), id="20:59:59-is-open"),
        pytest.param(ny(2026, 7, 14, 12, 0), id="noon-in-summer"),
    ],
)
def test_the_sending_window_is_08_00_to_21_00(now: datetime) -> None:
    assert decide(facts(now=now, expires_at=now + timedelta(hours=1))) == Send()


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        pytest.param(
            ny(2026, 11, 24, 8, 0), Skip("quiet_hours"), id="session-at-08:00-is-pointless"
        ),
        pytest.param(ny(2026, 11, 24, 7, 30), Skip("quiet_hours"), id="session-before-morning"),
        pytest.param(
            ny(2026, 11, 24, 8, 1),
            Defer(ny(2026, 11, 24, 8, 0), "quiet_hours"),
            id="session-at-08:01-still-worth-a-reminder",
        ),
        pytest.param(
            ny(2026, 11, 24, 10, 0),
            Defer(ny(2026, 11, 24, 8, 0), "quiet_hours"),
            id="session-at-10:00-reminded-at-08:00",
        ),
    ],
)
def test_a_session_reminder_that_would_only_arrive_after_the_session_is_skipped(
    expires_at: datetime, expected: Decision
) -> None:
    decision = decide(facts(kind="session", now=ny(2026, 11, 23, 22, 0), expires_at=expires_at))
    assert decision == expected


def test_a_clinic_wider_window_and_another_zone_defer_to_that_zones_morning() -> None:
    los_angeles = ZoneInfo("America/Los_Angeles")
    now = datetime(2026, 11, 23, 8, 30, tzinfo=los_angeles)
    decision = decide(
        facts(
            now=now,
            expires_at=now + timedelta(hours=18),
            zone=los_angeles,
            quiet=QuietHours(time(20), time(9)),
        )
    )
    assert decision == Defer(datetime(2026, 11, 23, 17, 0, tzinfo=UTC), "quiet_hours")


ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Lord_Howe",  # a half-hour DST shift
    "Pacific/Chatham",
    "UTC",
]


@given(
    now=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    zone_name=st.sampled_from(ZONES),
    hours_to_expiry=st.integers(1, 36),
)
def test_it_never_sends_or_defers_into_quiet_hours(
    now: datetime, zone_name: str, hours_to_expiry: int
) -> None:
    zone = ZoneInfo(zone_name)
    expires_at = now + timedelta(hours=hours_to_expiry)
    decision = decide(facts(now=now, expires_at=expires_at, zone=zone))
    is_quiet = DEFAULT_QUIET.contains(now.astimezone(zone).time())
    if isinstance(decision, Send):
        assert not is_quiet
    elif isinstance(decision, Defer):
        assert is_quiet
        assert now < decision.until < expires_at
        assert not DEFAULT_QUIET.contains(decision.until.astimezone(zone).time())
        assert decision.until - now <= timedelta(hours=12)
    else:
        assert decision == Skip("quiet_hours")
        assert is_quiet


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (ReminderKind.SESSION, SkipReason.APPOINTMENT_CANCELLED),
        (ReminderKind.SESSION_MOVED, SkipReason.APPOINTMENT_CANCELLED),
        (ReminderKind.NO_SHOW, SkipReason.MARK_CORRECTED),
        (ReminderKind.SLOT_OFFER, SkipReason.SLOT_GONE),
        (ReminderKind.SLOT_GONE, SkipReason.SLOT_GONE),
    ],
)
def test_a_text_whose_session_or_offer_no_longer_wants_it_is_skipped_before_and_after_the_wait(
    kind: ReminderKind, reason: SkipReason
) -> None:
    assert decide(facts(kind=kind, appointment_live=False)) == Skip(reason)
    waited = Waited(
        kind=kind,
        now=MORNING,
        expires_at=MORNING + timedelta(hours=6),
        zone=NEW_YORK,
        quiet=DEFAULT_QUIET,
        opted_out=False,
        paused=False,
        appointment_live=False,
    )
    assert recheck(waited) == Skip(reason)
    assert recheck(replace(waited, appointment_live=True)) == Send()
