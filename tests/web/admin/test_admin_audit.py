"""The audit log page: who changed what and when, readable; admins only; filters and paging."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, select

from outreach.accounts import audit
from outreach.accounts.users import Staff, authenticate, load_staff
from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import staff_users
from tests.support.admin import Admin
from tests.support.patients import enrol


def staff_named(engine: Engine, username: str) -> Staff:
    with engine.begin() as conn:
        user_id = conn.execute(
            select(staff_users.c.id).where(staff_users.c.username == username)
        ).scalar_one()
        found = load_staff(conn, user_id)
    assert found is not None
    return found


def write(
    engine: Engine,
    username: str,
    action: str,
    at: datetime,
    patient_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    who = staff_named(engine, username)
    with engine.begin() as conn:
        audit.record(conn, who, action, at, patient_id, detail)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def notes(html: str) -> list[str]:
    """The `note: eN` detail lines in page order: which entries are shown, newest first."""
    return re.findall(r"<li>note: (e\d+)</li>", html)


def test_an_entry_shows_when_who_what_the_patient_and_the_changes(
    admin: Admin, engine: Engine, settings: Settings, clock: ManualClock
) -> None:
    ana = enrol(engine, settings, clock.now())
    before = {"first_name": "Ana", "phone": "+16175550142", "paused": False}
    after = {"first_name": "Anna", "phone": "+16175550142", "paused": True}
    write(engine, "admin", "patient_updated", clock.now(), ana, audit.changes(before, after))

    html = admin.get("/audit").text

    assert "Mon 23 Nov 2026 07:00" in html  # 12:00 UTC in New York
    assert 'Alex Admin <span class="muted">(admin)</span>' in html
    assert "Edited the patient or their plan" in html
    assert '<a href="/patients/P-1">P-1</a>' in html
    assert "<li>first name: Ana → Anna</li>" in html
    assert "<li>paused: no → yes</li>" in html
    assert "phone:" not in html  # unchanged fields are not listed


def test_a_therapist_may_not_read_the_audit_log(therapist: Admin) -> None:
    response = therapist.get("/audit")

    assert response.status_code == 403
    assert "Only a clinic admin may do this." in response.text
    assert 'href="/audit"' not in therapist.get("/").text


@pytest.mark.parametrize(
    ("action", "detail", "lines"),
    [
        ("patient_updated", {"phone": ["+1617555", "+1617999"]}, ["phone: +1617555 → +1617999"]),
        ("patient_updated", {"end_date": [None, "2026-12-31"]}, ["end date: – → 2026-12-31"]),
        ("patient_created", {"first_name": [None, "Ana"]}, ["first name: Ana"]),
        ("patient_paused", {"paused": [False, True]}, ["paused: no → yes"]),
        ("escalation_resolved", {"escalation": 7, "note": "ok"}, ["escalation: 7", "note: ok"]),
        ("plan_updated", {"changes": {"weeks": [4, 6]}}, ["weeks: 4 → 6"]),
        ("patients_imported", {"file": "a.csv", "rows": 12}, ["file: a.csv", "rows: 12"]),
        ("patient_updated", {"days": [["mon"], ["mon", "fri"]]}, ["days: mon → mon, fri"]),
        ("session_added", {"starts_at": "2026-11-30 10:00"}, ["starts at: 2026-11-30 10:00"]),
        ("sign_in_failed", {}, []),
    ],
)  # fmt: skip
def test_details_read_as_plain_lines(action: str, detail: Any, lines: list[str]) -> None:
    assert audit.detail_lines(action, detail) == lines


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("patient_paused", "Paused the patient's texts"),
        ("escalation_acknowledged", "Acknowledged an escalation"),
        ("sign_in_failed", "Sign-in failed"),
        ("plan_phase_removed", "Plan phase removed"),  # one we have no words for yet
    ],
)
def test_actions_read_in_plain_words(action: str, words: str) -> None:
    assert audit.describe(action) == words


@pytest.fixture
def history(admin: Admin, engine: Engine, settings: Settings, clock: ManualClock) -> Admin:
    """Four staff changes over four clinic days and one failed sign-in (now: Mon 23 Nov,
    07:00 in New York)."""
    ana = enrol(engine, settings, clock.now())
    ben = enrol(engine, settings, clock.now(), patient_id="P-2", phone="+16175550143")
    write(engine, "admin", "patient_created", utc(20, 15), ana, {"note": "e1"})
    # 03:00 UTC on the 22nd is still the 21st in New York (22:00), and 04:30 UTC on the
    # 23rd is 23:30 on the 22nd.
    write(engine, "terry", "session_added", utc(22, 3), ana, {"note": "e2"})
    write(engine, "admin", "patient_updated", utc(23, 4, 30), ben, {"note": "e3"})
    write(engine, "terry", "escalation_resolved", utc(23, 11), ben, {"note": "e4"})
    assert authenticate(engine, "mallory", "not the password", clock.now()) is None
    return admin


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({}, ["e4", "e3", "e2", "e1"]),
        ({"patient": "P-1"}, ["e2", "e1"]),
        ({"patient": "P-9"}, []),
        ({"user": "terry"}, ["e4", "e2"]),
        ({"user": " Terry "}, ["e4", "e2"]),
        ({"action": "patient_updated"}, ["e3"]),
        ({"start": "2026-11-21", "end": "2026-11-22"}, ["e3", "e2"]),
        ({"start": "2026-11-23"}, ["e4"]),
        ({"end": "2026-11-20"}, ["e1"]),
        ({"patient": "P-1", "user": "admin"}, ["e1"]),
    ],
)
def test_filters_narrow_the_log(history: Admin, query: dict[str, str], shown: list[str]) -> None:
    response = history.get("/audit", params=query)

    assert response.status_code == 200
    assert notes(response.text) == shown


def test_failed_sign_ins_are_hidden_unless_asked_for(history: Admin) -> None:
    hidden = history.get("/audit").text
    shown = history.get("/audit?sign_ins=1").text
    chosen = history.get("/audit?action=sign_in_failed").text

    assert "mallory" not in hidden
    assert 'class="audit-sign-in"' in shown and "mallory" in shown
    assert notes(shown) == ["e4", "e3", "e2", "e1"]
    assert 'class="audit-sign-in"' in chosen and notes(chosen) == []
    assert 'name="sign_ins" value="1" checked' in shown


def test_the_log_pages_back_a_hundred_at_a_time_keeping_the_filter(
    admin: Admin, engine: Engine, clock: ManualClock
) -> None:
    for n in range(205):
        write(engine, "terry", "session_added", clock.now(), detail={"note": f"e{n}"})
    write(engine, "admin", "session_added", clock.now(), detail={"note": "e-other"})

    first = admin.get("/audit?user=terry").text
    older = re.search(r'href="(/audit\?[^"]*before_id=\d+)"', first)
    assert older is not None
    second = admin.get(older.group(1).replace("&amp;", "&")).text
    last_link = re.search(r'href="(/audit\?[^"]*before_id=\d+)"', second)
    assert last_link is not None
    last = admin.get(last_link.group(1).replace("&amp;", "&")).text

    assert notes(first) == [f"e{n}" for n in range(204, 104, -1)]
    assert "user=terry" in older.group(1)
    assert notes(second) == [f"e{n}" for n in range(104, 4, -1)]
    assert notes(last) == ["e4", "e3", "e2", "e1", "e0"]
    assert "before_id" not in last.split("Newest entries")[-1]
    assert '<a href="/audit?user=terry">Newest entries</a>' in last


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "last week"}, "start", "Enter a date as YYYY-MM-DD"),
        ({"start": "2026-11-20", "end": "2026-11-02"}, "end", "The end date is before the start"),
        ({"patient": "P" * 65}, "patient", "At most 64 characters."),
    ],
)
def test_bad_filters_are_sent_back_with_the_error_and_what_was_typed(
    history: Admin, query: dict[str, str], field: str, message: str
) -> None:
    response = history.get("/audit", params=query)

    assert response.status_code == 422
    assert f'<span class="field-error" id="{field}-error">{message}' in response.text
    assert f'value="{query[field]}"' in response.text
    assert notes(response.text) == []


def test_a_made_up_before_id_starts_at_the_newest(history: Admin) -> None:
    assert notes(history.get("/audit?before_id=abc").text) == ["e4", "e3", "e2", "e1"]
    assert notes(history.get("/audit?before_id=3").text) == ["e2", "e1"]


def test_a_filter_with_a_control_character_is_a_field_error(admin: Admin) -> None:
    response = admin.get("/audit?action=%00&patient=P%1B1")
    assert response.status_code == 422
    assert response.text.count("no control characters") == 2
