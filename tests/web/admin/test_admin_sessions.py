"""Sessions in the admin: Today lists the clinic day's sessions at each patient's own time
with one button per mark, and past days' sessions still unmarked; a mark through htmx redraws
its row; the patient page marks and moves sessions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from httpx import Response
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, reminders
from outreach.planning.planner import plan_due
from tests.support.admin import Admin
from tests.support.patients import enrol

A = appointment_table
HTMX = {"HX-Request": "true"}
# Monday 23 November 2026. Ana (New York) and Ben (Chicago) have sessions at 10:00 their time.
ANA_MONDAY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
BEN_MONDAY = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
ANA_WEDNESDAY = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


@pytest.fixture
def clinic(engine: Engine, settings: Settings, clock: ManualClock) -> None:
    enrol(engine, settings, clock.now())
    enrol(
        engine,
        settings,
        clock.now(),
        patient_id="P-2",
        first_name="Ben",
        last_name="Okafor",
        phone="+16175550143",
        timezone="America/Chicago",
    )
    plan_due(engine, settings, clock.now())


def session_id(engine: Engine, starts_at: datetime, external: str = "P-1") -> int:
    from outreach.db.tables import patients

    with engine.connect() as conn:
        return int(
            conn.execute(
                select(A.c.id)
                .join(patients, patients.c.id == A.c.patient_id)
                .where(patients.c.external_id == external, A.c.starts_at == starts_at)
            ).scalar_one()
        )


def section(page: Response, section_id: str) -> str:
    assert page.status_code == 200, page.text
    found = re.search(rf'<section id="{section_id}".*?</section>', page.text, re.DOTALL)
    assert found, f"no section {section_id}"
    return unescape(found.group(0))


def rows(html: str) -> list[str]:
    """Each table row's text, tags stripped and spaces folded."""
    found = re.findall(r"<tr id=\"session-\d+\".*?</tr>", html, re.DOTALL)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in found]


def test_today_lists_the_days_sessions_at_each_patients_own_time_with_its_marks(
    admin: Admin, clinic: None, clock: ManualClock
) -> None:
    clock.set(ANA_MONDAY + timedelta(minutes=30))  # Ana's has begun; Ben's has not

    found = section(admin.get("/"), "sessions-today")

    assert "Sessions today (2)" in found
    ana, ben = rows(found)
    assert ana.startswith("Mon 23 Nov 10:00 EST Ana Torres P-1 not marked")
    assert "Attended No show Cancelled by patient Cancelled by clinic" in ana
    assert ben.startswith("Mon 23 Nov 10:00 CST Ben Okafor P-2 not marked")
    assert "Attended" not in ben and "Cancelled by patient Cancelled by clinic" in ben


def test_a_mark_through_htmx_redraws_the_row_and_says_what_follows(
    admin: Admin, engine: Engine, clinic: None, clock: ManualClock
) -> None:
    clock.set(ANA_MONDAY + timedelta(hours=1))
    appointment = session_id(engine, ANA_MONDAY)

    answer = admin.post(f"/sessions/{appointment}/mark", {"mark": "no_show"}, headers=HTMX)

    assert answer.status_code == 200
    (row,) = rows(unescape(answer.text))
    assert "no-show" in row and "The patient will get the no-show text today." in row
    assert 'aria-pressed="true">No show' in answer.text
    with engine.connect() as conn:
        assert conn.execute(select(A.c.attendance).where(A.c.id == appointment)).scalar() == (
            "no_show"
        )


def test_a_mark_that_cannot_be_given_says_why_in_its_row(
    admin: Admin, engine: Engine, clinic: None
) -> None:
    appointment = session_id(engine, ANA_MONDAY)  # at 07:00: it has not begun

    answer = admin.post(f"/sessions/{appointment}/mark", {"mark": "attended"}, headers=HTMX)
    (row,) = rows(unescape(answer.text))
    assert "Not marked: the session has not started yet" in row

    unknown = admin.post(f"/sessions/{appointment}/mark", {"mark": "came"}, headers=HTMX)
    assert "Choose a mark" in unescape(unknown.text)
    with engine.connect() as conn:
        assert conn.execute(select(A.c.attendance).where(A.c.id == appointment)).scalar() is None


def test_sessions_of_past_days_wait_on_today_until_marked(
    admin: Admin, engine: Engine, clinic: None, clock: ManualClock
) -> None:
    clock.set(ANA_MONDAY + timedelta(days=1))  # Tuesday

    waiting = section(admin.get("/"), "sessions-today")
    assert "Not marked yet (2)" in waiting
    assert [r.split(" not marked")[0] for r in rows(waiting)[-2:]] == [
        "Mon 23 Nov 10:00 CST Ben Okafor P-2",
        "Mon 23 Nov 10:00 EST Ana Torres P-1",
    ]

    marked = admin.post(
        f"/sessions/{session_id(engine, ANA_MONDAY)}/mark",
        {"mark": "attended", "next": "/"},
        follow_redirects=False,
    )
    assert marked.status_code == 303 and marked.headers["location"] == "/"

    page = admin.get("/")
    assert "Marked attended." in page.text
    assert "Not marked yet (1)" in section(page, "sessions-today")


def test_the_patient_page_moves_a_session_and_says_so(
    admin: Admin, engine: Engine, clinic: None
) -> None:
    appointment = session_id(engine, ANA_WEDNESDAY)

    moved = admin.post(
        f"/patients/P-1/sessions/{appointment}/move",
        {"move_date": "2026-11-26", "move_time": "14:00"},
        follow_redirects=False,
    )

    assert moved.status_code == 303
    page = unescape(admin.get("/patients/P-1").text)
    assert "Moved the session of Wed 25 Nov 10:00 EST to Thu 26 Nov 14:00 EST." in page
    assert "The patient will be texted the new time." in page
    sessions = re.search(r'<section class="card" id="sessions".*?</section>', page, re.DOTALL)
    assert sessions
    text = " ".join(re.sub(r"<[^>]+>", " ", sessions.group(0)).split())
    assert "Wed 25 Nov 10:00 EST from the plan moved to Thu 26 Nov 14:00 EST" in text
    assert "Thu 26 Nov 14:00 EST moved here" in text
    with engine.connect() as conn:
        kinds = conn.execute(select(reminders.c.kind)).scalars().all()
    assert kinds.count("session_moved") == 1


@pytest.mark.parametrize(
    ("form", "said"),
    [
        (
            {"move_date": "26/11/2026", "move_time": "14:00"},
            "give the new date (YYYY-MM-DD) and time",
        ),
        ({"move_date": "2026-11-26", "move_time": "2pm"}, "and time (HH:MM, 24-hour)"),
        ({"move_date": "2026-11-20", "move_time": "14:00"}, "the new time has already passed"),
        (
            {"move_date": "2026-11-27", "move_time": "10:00"},
            "the patient already has a session at that time",
        ),
    ],
)
def test_a_move_that_cannot_be_made_says_why(
    admin: Admin, engine: Engine, clinic: None, form: dict[str, str], said: str
) -> None:
    appointment = session_id(engine, ANA_WEDNESDAY)

    admin.post(f"/patients/P-1/sessions/{appointment}/move", form, follow_redirects=False)

    page = unescape(admin.get("/patients/P-1").text)
    (flashed,) = re.findall(r'<p class="flash" role="status">(Not moved: [^<]*)</p>', page)
    assert said in flashed
    with engine.connect() as conn:
        assert conn.execute(select(A.c.status).where(A.c.id == appointment)).scalar() == (
            "scheduled"
        )


def test_a_session_of_another_patient_is_not_moved_from_this_page(
    admin: Admin, engine: Engine, clinic: None
) -> None:
    bens = session_id(engine, BEN_MONDAY, "P-2")

    admin.post(
        f"/patients/P-1/sessions/{bens}/move",
        {"move_date": "2026-11-26", "move_time": "14:00"},
        follow_redirects=False,
    )

    assert f"P-1 has no session with id {bens}" in unescape(admin.get("/patients/P-1").text)
