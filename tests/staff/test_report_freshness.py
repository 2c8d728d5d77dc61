"""Who recounts the report's stale days: the worker, every few minutes, while it runs (a
read then sums the stored days as they are and says when they were counted); the read
itself when no worker keeps them. And the worker catches up on a backlog a month a tick."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import report_dirty
from outreach.runtime import Service
from outreach.staff import report
from outreach.staff.report import rollups
from outreach.texts.render import Renderer
from tests.support.patients import enrol
from tests.support.report import ANA, NEW_YORK, Clinic, utc

MONDAY = date(2026, 11, 23)


@pytest.fixture
def clinic(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Clinic:
    """Ana's Monday foot check went out and is not answered yet; it is Monday 15:00 in
    New York."""
    enrol(engine, settings, clock.now())
    clinic = Clinic(engine, settings, clock, renderer)
    clinic.run_to(utc(23, 20))
    return clinic


def answered(clinic: Clinic) -> int:
    return clinic.report(MONDAY, MONDAY).replies.count


def test_a_read_with_no_worker_keeping_the_rollups_counts_every_write_first(
    clinic: Clinic,
) -> None:
    clinic.reply(ANA, "1", utc(23, 20, 5))

    found = clinic.report(MONDAY, MONDAY)

    assert found.replies.count == 1
    assert (found.counted_at, found.pending) == (None, 0)


def test_while_a_worker_keeps_the_rollups_a_read_shows_them_as_counted_and_says_when(
    clinic: Clinic,
) -> None:
    kept_at = clinic.clock.now()
    assert not report.keep(clinic.engine, NEW_YORK, kept_at)
    clinic.reply(ANA, "1", utc(23, 20, 5))  # marks Monday (UTC) stale

    found = clinic.report(MONDAY, MONDAY)

    assert found.replies.count == 0  # not counted yet: no recount on the read
    assert found.counted_at == kept_at
    assert found.pending == 1

    clinic.clock.set(utc(23, 20, 6))
    report.keep(clinic.engine, NEW_YORK, clinic.clock.now())
    after = clinic.report(MONDAY, MONDAY)
    assert after.replies.count == 1
    assert (after.counted_at, after.pending) == (None, 0)


def test_a_worker_silent_longer_than_two_periods_no_longer_counts_as_keeping_them(
    clinic: Clinic,
) -> None:
    report.keep(clinic.engine, NEW_YORK, clinic.clock.now())
    clinic.clock.set(clinic.clock.now() + rollups.KEPT_WITHIN + timedelta(seconds=1))
    clinic.reply(ANA, "1", clinic.clock.now())

    found = clinic.report(MONDAY, MONDAY)

    assert found.replies.count == 1
    assert found.counted_at is None


def test_writes_outside_the_range_do_not_flag_it_as_behind(clinic: Clinic) -> None:
    report.keep(clinic.engine, NEW_YORK, clinic.clock.now())
    with clinic.engine.begin() as conn:
        conn.execute(insert(report_dirty).values(day=date(2026, 6, 1)))

    found = clinic.report(MONDAY, MONDAY)

    assert (found.counted_at, found.pending) == (None, 0)


def test_the_worker_recounts_a_backlog_a_month_per_tick_until_none_is_left(
    clinic: Clinic,
) -> None:
    first = date(2026, 8, 1)
    with clinic.engine.begin() as conn:
        conn.execute(insert(report_dirty), [{"day": first + timedelta(days=n)} for n in range(70)])
        marked = conn.execute(select(func.count()).select_from(report_dirty)).scalar_one()
    assert 62 < marked <= 93  # the 70 and the dates of the clinic's own history
    service = Service(
        clinic.engine, clinic.settings, clinic.clock, clinic.transport, clinic.renderer, "t"
    )

    left = []
    for _ in range(4):
        service.tick()
        with clinic.engine.connect() as conn:
            left.append(conn.execute(select(func.count()).select_from(report_dirty)).scalar_one())

    # 31 a tick (the first tick's planning marks a few more session days), with no wait
    # between ticks while a backlog lasts; then nothing is left.
    assert marked - 31 <= left[0] <= marked
    assert left[1:] == [left[0] - 31, 0, 0]
    assert clinic.report(MONDAY, MONDAY).counted_at is None
