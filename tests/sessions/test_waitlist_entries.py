"""Putting patients on the waitlist, changing when they could come, taking them off
(sessions/waitlist.py): clear errors, every change audited, the queue order kept."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import audit_events, patients
from outreach.sessions import waitlist
from outreach.texts.render import Renderer
from tests.inbox.support import Desk
from tests.support.patients import enrol


@pytest.fixture
def desk(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Desk:
    desk = Desk(engine, settings, clock, renderer)
    desk.patient_id = enrol(engine, settings, clock.now())
    return desk


def put_on(desk: Desk, days: str = "mon wed", hours: str = "08:00-12:00") -> bool:
    with desk.engine.begin() as conn:
        return waitlist.put_on(conn, desk.terry, desk.patient_id, days, hours, desk.clock.now())


def audited(desk: Desk) -> list[tuple[str, dict[str, object]]]:
    rows = desk.rows(audit_events, audit_events.c.action.like("waitlist%"))
    return [(r.action, json.loads(r.detail)) for r in rows]


def test_a_patient_is_put_on_changed_and_taken_off_and_each_is_audited(desk: Desk) -> None:
    added_at = desk.clock.now()
    assert put_on(desk, "Mon Wed", "08:00-12:00")
    desk.clock.advance(timedelta(days=1))
    assert not put_on(desk, "wed mon", "8:00-12:00")  # the same, typed otherwise
    assert put_on(desk, "mon wed fri", "08:00-12:00")
    with desk.engine.connect() as conn:
        entry = waitlist.entry_of(conn, desk.patient_id)
    assert entry is not None
    assert (entry.days, entry.hours, entry.added_at, entry.added_by) == (
        "mon,wed,fri",
        "08:00-12:00",
        added_at,  # a change keeps the patient's place in the queue
        "terry",
    )
    with desk.engine.begin() as conn:
        assert waitlist.take_off(conn, desk.terry, desk.patient_id, desk.clock.now())
        assert not waitlist.take_off(conn, desk.terry, desk.patient_id, desk.clock.now())
        assert waitlist.entries(conn) == []
    assert audited(desk) == [
        ("waitlist_added", {"days": "mon,wed", "hours": "08:00-12:00"}),
        ("waitlist_changed", {"days": ["mon,wed", "mon,wed,fri"]}),
        ("waitlist_removed", {}),
    ]


@pytest.mark.parametrize(
    ("days", "hours", "field", "says"),
    [
        ("", "08:00-12:00", "waitlist_days", "at least one weekday"),
        ("mon someday", "08:00-12:00", "waitlist_days", "'someday' is not a weekday"),
        ("mon", "noon", "waitlist_hours", "must look like '08:00-12:00'"),
        ("mon", "12:00-08:00", "waitlist_hours", "earliest time must come before"),
    ],
)
def test_bad_days_or_hours_name_their_field(
    desk: Desk, days: str, hours: str, field: str, says: str
) -> None:
    with pytest.raises(waitlist.WaitlistError, match=says) as raised:
        put_on(desk, days, hours)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"consent_state": "pending"}, "has not agreed to texts"),
        ({"opted_out": True}, "asked us to stop"),
        ({"paused": True}, "paused"),
    ],
)
def test_only_a_patient_we_may_text_goes_on_the_waitlist(
    desk: Desk, values: dict[str, object], says: str
) -> None:
    with desk.engine.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == desk.patient_id).values(**values))
    with pytest.raises(waitlist.WaitlistError, match=says):
        put_on(desk)
    assert audited(desk) == []
