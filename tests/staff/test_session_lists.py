"""The session lists staff mark from: the day's, those awaiting a mark, and their counts,
which stop at a bound rather than scan a large clinic's year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.planning.planner import plan_due
from outreach.staff import sessions
from tests.support.patients import enrol

MONDAY_NOON = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 in New York


@pytest.fixture
def three(engine: Engine, settings: Settings, clock: ManualClock) -> None:
    """Three patients, each with a session at 10:00 New York time every weekday."""
    for n in range(3):
        enrol(
            engine,
            settings,
            clock.now(),
            patient_id=f"P-{n}",
            phone=f"+1617555014{n}",
            sessions="mon tue wed thu fri at 10:00 for 2 weeks",
            plan_start="2026-11-23",
        )
    plan_due(engine, settings, clock.now())


def test_the_days_sessions_and_those_awaiting_a_mark(
    engine: Engine, settings: Settings, clock: ManualClock, three: None
) -> None:
    clock.set(MONDAY_NOON + timedelta(days=2))  # Wednesday
    zone = settings.clinic_zone

    today = sessions.day_sessions(engine, clock.now(), zone)
    awaiting = sessions.awaiting_marks(engine, clock.now(), zone)

    assert (today.total, today.count, today.more) == (3, "3", 0)
    assert {r.starts_at for r in today.rows} == {datetime(2026, 11, 25, 15, 0, tzinfo=UTC)}
    # Monday's and Tuesday's, newest first; Wednesday's day has not ended.
    assert [r.starts_at.day for r in awaiting.rows] == [24, 24, 24, 23, 23, 23]


def test_a_long_list_shows_the_first_rows_and_counts_to_a_bound(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    three: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sessions, "SHOWN", 2)
    monkeypatch.setattr(sessions, "COUNTED", 4)
    clock.set(MONDAY_NOON + timedelta(days=3))  # Thursday: nine sessions await a mark

    awaiting = sessions.awaiting_marks(engine, clock.now(), settings.clinic_zone)

    assert len(awaiting.rows) == 2
    assert (awaiting.total, awaiting.count, awaiting.more) == (4, "4+", 2)
