"""`outreach report rebuild`, and a session marked by the real command counted by the report
from its rollups."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, report_days, report_dirty
from outreach.rules.localtime import local_date
from outreach.staff import report
from outreach.staff.report.daterange import DateRange
from tests.support.admin import add_staff
from tests.support.cli import a_zone_where_it_is_midday, outreach
from tests.support.patients import enrol


def _a_session_marked_no_show(engine: Engine, settings: Settings, config: Path) -> datetime:
    now = SystemClock().now()
    add_staff(engine, now)
    zone = a_zone_where_it_is_midday()
    patient_id = enrol(engine, settings, now, timezone=zone, sessions="", plan_start="2026-11-01")
    starts_at = (now - timedelta(hours=2)).replace(second=0, microsecond=0)
    with engine.begin() as conn:
        conn.execute(
            appointment_table.insert().values(
                patient_id=patient_id, starts_at=starts_at, source="manual", updated_at=now
            )
        )
    day = starts_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d")
    code, output = outreach(
        config, "sessions", "mark", "P-1", "no-show", "--on", day, "--as", "terry"
    )
    assert code == 0, output
    return starts_at


def test_a_marked_no_show_is_counted_from_the_rollups_on_the_days_after(
    config: Path, engine: Engine, settings: Settings
) -> None:
    starts_at = _a_session_marked_no_show(engine, settings, config)
    zone = settings.clinic_zone
    day = local_date(starts_at, zone)
    tomorrow = starts_at + timedelta(days=1, hours=12)
    span = DateRange(day - timedelta(days=1), local_date(tomorrow, zone))

    stored = report.build(engine, zone, span, tomorrow, settings.late_cancel_hours)

    assert stored.no_shows == report.Rate(1, 1)
    assert stored.no_shows_unconfirmed == report.Rate(1, 1)
    assert stored == report.build(engine, zone, span, tomorrow, recount=True)
    with engine.connect() as conn:
        marked = conn.execute(
            select(report_days.c.value).where(
                report_days.c.day == day, report_days.c.key == "unconfirmed:no_show"
            )
        ).scalar_one()
        assert marked == 1


def test_rebuild_recounts_every_day_and_leaves_nothing_stale(
    config: Path, engine: Engine, settings: Settings
) -> None:
    _a_session_marked_no_show(engine, settings, config)

    code, output = outreach(config, "report", "rebuild")

    assert code == 0, output
    assert "Recounted" in output and "clinic days" in output
    with engine.connect() as conn:
        assert conn.execute(select(report_dirty.c.day)).first() is None
        assert conn.execute(select(report_days.c.day)).first() is not None


def test_rebuild_refuses_a_range_that_ends_before_it_starts(config: Path) -> None:
    code, output = outreach(
        config, "report", "rebuild", "--from", "2026-12-10", "--to", "2026-12-01"
    )

    assert code == 2 and "is before --from" in output
