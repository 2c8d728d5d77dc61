"""The waitlist columns of a patient file (`waitlist_days`, `waitlist_hours`): read with the
rest of the row, bad values named by line and column, imported into the waitlist; a file
without them (or with them blank) leaves the waitlist as it is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from outreach.config import Settings
from outreach.db.tables import waitlist_entries
from outreach.patients.csvfile import read_csv
from outreach.patients.upsert import import_file

HEADER = "patient_id,first_name,phone,timezone,plan_start,sessions,waitlist_days,waitlist_hours"
ANA = "RPT-1,Ana,+16175550142,America/New_York,2026-11-30,mon at 10:00 for 4 weeks"
BEN = "RPT-2,Ben,+16175550102,America/New_York,2026-11-30,tue at 10:00 for 4 weeks"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "patients.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def entries(engine: Engine) -> list[tuple[int, str, str]]:
    W = waitlist_entries
    with engine.connect() as conn:
        rows = conn.execute(select(W.c.patient_id, W.c.weekdays, W.c.earliest, W.c.latest))
        return [(r[0], r[1], f"{r[2]:%H:%M}-{r[3]:%H:%M}") for r in rows]


@pytest.mark.parametrize(
    ("days", "hours", "errors"),
    [
        ("Mon Wed Fri", "08:00-12:00", []),
        ("", "", []),
        (
            "mon funday",
            "08:00-12:00",
            ["line 2, waitlist_days: 'mon funday' has a problem: 'funday' is not a weekday"],
        ),
        ("mon", "8am-noon", ["line 2, waitlist_hours: '8am-noon' must look like '08:00-12:00'"]),
        (
            "mon",
            "12:00-08:00",
            ["line 2, waitlist_hours: '12:00-08:00' has a problem: the earliest time must"],
        ),
        ("mon", "", ["line 2, waitlist_hours: must not be blank when waitlist_days is set"]),
        ("", "08:00-09:00", ["line 2, waitlist_days: must not be blank when waitlist_hours is"]),
    ],
)
def test_the_waitlist_columns_are_checked_like_the_others(
    tmp_path: Path, settings: Settings, days: str, hours: str, errors: list[str]
) -> None:
    specs, found = read_csv(write(tmp_path, HEADER, f"{ANA},{days},{hours}"), settings)
    assert len(found) == len(errors)
    for error, start in zip(found, errors, strict=True):
        assert str(error).startswith(start), str(error)
    if not errors:
        (_, spec), = specs  # fmt: skip
        assert (spec.waitlist is None) == (days == "")


def test_an_import_puts_patients_on_the_waitlist_and_a_blank_leaves_it_as_it_is(
    tmp_path: Path, engine: Engine, settings: Settings
) -> None:
    report = import_file(
        engine,
        settings,
        write(tmp_path, HEADER, f"{ANA},mon wed,08:00-12:00", f"{BEN},,"),
        NOW,
    )
    assert (report.created, report.errors) == (2, [])
    assert [e[1:] for e in entries(engine)] == [("mon,wed", "08:00-12:00")]

    again = import_file(
        engine, settings, write(tmp_path, HEADER, f"{ANA},,", f"{BEN},fri,13:00-17:00"), NOW
    )
    assert (again.updated, again.unchanged) == (1, 1)  # only Ben's waitlist changed
    assert sorted(e[1:] for e in entries(engine)) == [
        ("fri", "13:00-17:00"),
        ("mon,wed", "08:00-12:00"),  # a blank left Ana's as it was
    ]
