"""`outreach sessions mark`: attendance from a terminal, with the admin's rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, patients, reminders
from tests.support.admin import add_staff
from tests.support.cli import a_zone_where_it_is_midday, outreach
from tests.support.patients import enrol

A = appointment_table


@pytest.fixture
def ana(engine: Engine, settings: Settings) -> tuple[int, datetime, str]:
    """Ana, where it is midday, with a session that began two hours ago."""
    now = SystemClock().now()
    add_staff(engine, now)
    zone = a_zone_where_it_is_midday()
    patient_id = enrol(engine, settings, now, timezone=zone, sessions="", plan_start="2026-11-01")
    starts_at = (now - timedelta(hours=2)).replace(second=0, microsecond=0)
    with engine.begin() as conn:
        conn.execute(
            A.insert().values(
                patient_id=patient_id, starts_at=starts_at, source="manual", updated_at=now
            )
        )
    return patient_id, starts_at, zone


def local(starts_at: datetime, zone: str, fmt: str) -> str:
    return starts_at.astimezone(ZoneInfo(zone)).strftime(fmt)


def test_a_no_show_is_marked_and_its_text_queued(
    config: Path, engine: Engine, ana: tuple[int, datetime, str]
) -> None:
    patient_id, starts_at, zone = ana
    day = local(starts_at, zone, "%Y-%m-%d")
    code, output = outreach(
        config, "sessions", "mark", "(617) 555-0142", "no-show", "--on", day, "--as", "terry"
    )

    assert code == 0, output
    assert f"Marked the session of {local(starts_at, zone, '%Y-%m-%d %H:%M')}" in output
    assert "no-show" in output and "Queued the no-show text" in output
    with engine.connect() as conn:
        assert conn.execute(select(A.c.attendance)).scalar_one() == "no_show"
        kinds = conn.execute(
            select(reminders.c.kind).where(reminders.c.patient_id == patient_id)
        ).scalars()
        assert "no_show" in list(kinds)

    code, output = outreach(
        config, "sessions", "mark", "P-1", "attended", "--on", day, "--as", "terry"
    )
    assert code == 0 and "attended (was no-show)" in output


def test_mistakes_are_named_and_change_nothing(
    config: Path, engine: Engine, ana: tuple[int, datetime, str]
) -> None:
    _, starts_at, zone = ana
    day = local(starts_at, zone, "%Y-%m-%d")
    code, output = outreach(config, "sessions", "mark", "P-1", "came", "--on", day, "--as", "terry")
    assert code == 2 and "'came' is not one of" in output

    code, output = outreach(
        config, "sessions", "mark", "P-1", "attended", "--on", "2026-13-01", "--as", "terry"
    )
    assert code == 1 and "write the date as YYYY-MM-DD" in output

    code, output = outreach(
        config, "sessions", "mark", "P-9", "attended", "--on", day, "--as", "terry"
    )
    assert code == 1 and "no patient has the id or phone number 'P-9'" in output

    code, output = outreach(
        config, "sessions", "mark", "P-1", "attended", "--on", day, "--at", "03:07", "--as", "terry"
    )
    assert code == 1 and "has no session on" in output

    code, output = outreach(
        config, "sessions", "mark", "P-1", "attended", "--on", day, "--as", "nobody"
    )
    assert code == 1 and "no active staff user 'nobody'" in output
    with engine.connect() as conn:
        assert conn.execute(select(A.c.attendance)).scalar_one() is None
        assert conn.execute(select(patients.c.id)).scalar_one()


@pytest.fixture
def later(engine: Engine, settings: Settings) -> tuple[int, datetime, str]:
    """Ana, where it is midday, with a session in three days' time."""
    now = SystemClock().now()
    add_staff(engine, now)
    zone = a_zone_where_it_is_midday()
    patient_id = enrol(engine, settings, now, timezone=zone, sessions="", plan_start="2026-11-01")
    starts_at = (now + timedelta(days=3)).replace(second=0, microsecond=0)
    with engine.begin() as conn:
        conn.execute(
            A.insert().values(
                patient_id=patient_id, starts_at=starts_at, source="manual", updated_at=now
            )
        )
    return patient_id, starts_at, zone


def test_a_session_is_moved_and_the_patient_told(
    config: Path, engine: Engine, later: tuple[int, datetime, str]
) -> None:
    patient_id, starts_at, zone = later
    day = local(starts_at, zone, "%Y-%m-%d")
    new_day = local(starts_at + timedelta(days=1), zone, "%Y-%m-%d")

    code, output = outreach(
        config, "sessions", "move", "P-1", "--on", day, "--to", f"{new_day} 15:30", "--as", "terry"
    )

    assert code == 0, output
    assert f"to {new_day} 15:30" in output and "Queued the text with the new time" in output
    with engine.connect() as conn:
        rows = conn.execute(
            select(A.c.starts_at, A.c.status, A.c.source).where(A.c.patient_id == patient_id)
        ).all()
        kinds = conn.execute(
            select(reminders.c.kind).where(reminders.c.patient_id == patient_id)
        ).scalars()
        assert "session_moved" in list(kinds)
    assert sorted((r.status, r.source) for r in rows) == [
        ("moved", "manual"),
        ("scheduled", "moved"),
    ]


def test_a_move_that_cannot_be_made_is_named(
    config: Path, engine: Engine, later: tuple[int, datetime, str]
) -> None:
    _, starts_at, zone = later
    day = local(starts_at, zone, "%Y-%m-%d")
    code, output = outreach(
        config, "sessions", "move", "P-1", "--on", day, "--to", "tomorrow", "--as", "terry"
    )
    assert code == 1 and "write the new time as 'YYYY-MM-DD HH:MM'" in output

    code, output = outreach(
        config, "sessions", "move", "P-1", "--on", day, "--to", "2020-01-01 10:00", "--as", "terry"
    )
    assert code == 1 and "not moved: the new time has already passed" in output
    with engine.connect() as conn:
        assert conn.execute(select(A.c.status)).scalars().all() == ["scheduled"]
