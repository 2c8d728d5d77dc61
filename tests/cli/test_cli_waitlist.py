"""`outreach waitlist add|list|remove`: the waitlist from a terminal, with the admin's checks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, open_slots, patients, waitlist_entries
from tests.support.admin import add_staff
from tests.support.cli import outreach
from tests.support.patients import enrol


@pytest.fixture
def ana(engine: Engine, settings: Settings) -> int:
    now = SystemClock().now()
    add_staff(engine, now)
    return enrol(engine, settings, now, sessions="", plan_start="2026-11-01")


def test_a_patient_is_added_listed_and_removed(config: Path, engine: Engine, ana: int) -> None:
    code, output = outreach(
        config, "waitlist", "add", "(617) 555-0142", "--days", "Mon Wed", "--hours",
        "08:00-12:00", "--as", "terry",
    )  # fmt: skip
    assert code == 0, output
    assert "is on the waitlist" in output
    with engine.connect() as conn:
        row = conn.execute(select(waitlist_entries)).one()
    assert (row.patient_id, row.weekdays) == (ana, "mon,wed")

    code, output = outreach(config, "waitlist", "list")
    assert code == 0, output
    assert "P-1" in output and "Ana Torres" in output and "08:00-12:00" in output

    code, output = outreach(config, "waitlist", "remove", "P-1", "--as", "terry")
    assert code == 0 and "is off the waitlist" in output, output
    code, output = outreach(config, "waitlist", "remove", "P-1", "--as", "terry")
    assert code == 1 and "is not on the waitlist" in output


def test_bad_hours_are_refused_with_the_reason(config: Path, engine: Engine, ana: int) -> None:
    code, output = outreach(
        config, "waitlist", "add", "P-1", "--days", "mon", "--hours", "12:00-08:00", "--as",
        "terry",
    )  # fmt: skip
    assert code == 1
    assert "earliest time must come before the latest" in output
    with engine.connect() as conn:
        assert conn.execute(select(waitlist_entries)).all() == []


def test_a_patient_who_opted_out_cannot_be_added(config: Path, engine: Engine, ana: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(patients).values(opted_out=True))
    code, output = outreach(
        config, "waitlist", "add", "P-1", "--days", "mon", "--hours", "08:00-12:00", "--as",
        "terry",
    )  # fmt: skip
    assert code == 1 and "asked us to stop texting" in output


def test_the_list_shows_the_slots_ahead_and_who_freed_them(
    config: Path, engine: Engine, ana: int
) -> None:
    now = SystemClock().now()
    with engine.begin() as conn:
        appointment_id = conn.execute(
            appointment_table.insert()
            .values(
                patient_id=ana,
                starts_at=now + timedelta(days=2),
                source="manual",
                status="cancelled",
                updated_at=now,
            )
            .returning(appointment_table.c.id)
        ).scalar_one()
        conn.execute(
            open_slots.insert().values(
                appointment_id=appointment_id,
                starts_at=now + timedelta(days=2),
                opened_at=now,
                state="open",
            )
        )
    code, output = outreach(config, "waitlist", "list")
    assert code == 0, output
    assert "Nobody is on the waitlist." in output
    assert "Ana Torres (P-1)" in output and "open" in output
