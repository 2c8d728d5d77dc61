"""A message to many: previewed with its count and each language's text, sent once per
preview, to the day's patients in their own time zones, never to one who opted out."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, insert, update

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import appointment_table, audit_events, broadcasts, patients, staff_messages
from outreach.inbox import broadcasts as broadcast
from outreach.inbox.broadcasts import Audience, BroadcastError
from outreach.texts.render import Renderer
from tests.inbox.support import Desk
from tests.support.patients import enrol

DAYTIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SNOW = {
    "en": "Riverside PT is closed tomorrow (snow).",
    "es": "Riverside PT cierra mañana (nieve).",
}


@pytest.fixture
def desk(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Desk:
    clock.set(DAYTIME)
    return Desk(engine, settings, clock, renderer)


def session(desk: Desk, patient_id: int, at: datetime) -> None:
    with desk.engine.begin() as conn:
        conn.execute(
            insert(appointment_table).values(
                patient_id=patient_id, starts_at=at, source="manual", updated_at=at
            )
        )


def three_patients(desk: Desk) -> dict[str, int]:
    now = desk.clock.now()
    return {
        "ana": enrol(desk.engine, desk.settings, now, sessions=""),
        # 23:30 in Los Angeles on the 24th is the 25th in UTC: still the 24th for her.
        "luz": enrol(
            desk.engine, desk.settings, now, patient_id="P-2", first_name="Luz",
            phone="+16175550143", language="es", timezone="America/Los_Angeles", sessions="",
        ),
        "bo": enrol(
            desk.engine, desk.settings, now, patient_id="P-3", first_name="Bo",
            phone="+16175550144", sessions="",
        ),
    }  # fmt: skip


def test_the_preview_counts_the_days_patients_by_language_in_their_own_dates(
    desk: Desk,
) -> None:
    p = three_patients(desk)
    session(desk, p["ana"], datetime(2026, 11, 24, 15, 0, tzinfo=UTC))  # 10:00 New York
    session(desk, p["luz"], datetime(2026, 11, 25, 7, 30, tzinfo=UTC))  # 23:30 LA, the 24th
    session(desk, p["bo"], datetime(2026, 11, 25, 15, 0, tzinfo=UTC))  # the 25th: not him

    with desk.engine.connect() as conn:
        shown = broadcast.preview(conn, Audience(date(2026, 11, 24)), SNOW, desk.clock.now())

    assert shown.by_language == {"en": 1, "es": 1} and shown.recipients == 2
    assert shown.texts == SNOW and shown.measures["es"].segments == 1


def test_a_language_without_a_text_is_named(desk: Desk) -> None:
    three_patients(desk)

    with pytest.raises(BroadcastError) as raised, desk.engine.connect() as conn:
        broadcast.preview(conn, Audience(), {"en": SNOW["en"]}, desk.clock.now())

    assert raised.value.errors.keys() == {"text_es"}
    assert "1 patients read it" in raised.value.errors["text_es"]


def test_sending_a_preview_twice_sends_once_and_audits_once(desk: Desk) -> None:
    p = three_patients(desk)
    with desk.engine.begin() as conn:
        conn.execute(update(patients).where(patients.c.id == p["bo"]).values(opted_out=True))
        shown = broadcast.preview(conn, Audience(), SNOW, desk.clock.now())
    assert shown.recipients == 2 and shown.opted_out == 1

    for _ in range(2):
        with desk.engine.begin() as conn:
            sent = broadcast.send(
                conn, desk.settings, desk.admin, shown.token, Audience(), SNOW, desk.clock.now()
            )

    assert sent.again and sent.recipients == 2
    assert len(desk.rows(broadcasts)) == 1
    assert sorted(m.patient_id for m in desk.rows(staff_messages)) == [p["ana"], p["luz"]]
    assert desk.dispatch() == [SNOW["en"]]  # 07:00 in Los Angeles: Luz's waits for 08:00
    desk.at(datetime(2026, 11, 23, 16, 1, tzinfo=UTC))
    assert desk.dispatch() == [SNOW["es"]]
    [entry] = desk.rows(audit_events)
    assert entry.action == "broadcast_sent" and json.loads(entry.detail)["recipients"] == 2


def test_the_audience_is_read_from_the_form(desk: Desk) -> None:
    assert broadcast.parse_audience("active", "") == Audience()
    assert broadcast.parse_audience("sessions", " 2026-11-24 ") == Audience(date(2026, 11, 24))
    with pytest.raises(BroadcastError, match="YYYY-MM-DD"):
        broadcast.parse_audience("sessions", "tomorrow")
    with pytest.raises(BroadcastError):
        broadcast.parse_audience("everyone", "")
