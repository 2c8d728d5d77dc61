"""`outreach messages send`: the admin's reply box at a terminal, with the same rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from outreach.clock import SystemClock
from outreach.config import Settings
from outreach.db.tables import audit_events, patients, reminders, staff_messages
from tests.support.admin import add_staff
from tests.support.cli import a_zone_where_it_is_midday, outreach
from tests.support.patients import enrol


@pytest.fixture
def ana(engine: Engine, settings: Settings) -> int:
    now = SystemClock().now()
    add_staff(engine, now)
    return enrol(engine, settings, now, timezone=a_zone_where_it_is_midday())


@pytest.mark.parametrize("spelling", ["P-1", "(617) 555-0142", "617.555.0142", "+1 617 555 0142"])
def test_a_text_is_queued_for_the_patient_named_by_id_or_any_phone_spelling(
    config: Path, engine: Engine, ana: int, spelling: str
) -> None:
    code, output = outreach(
        config, "messages", "send", spelling, "See you Thursday!", "--as", "terry"
    )

    assert code == 0, output
    assert "Queued: a running worker (`outreach worker`) sends it now." in output
    with engine.connect() as conn:
        [text] = conn.execute(select(staff_messages)).all()
        [row] = conn.execute(select(reminders).where(reminders.c.kind == "staff")).all()
        [entry] = conn.execute(select(audit_events)).all()
    assert (text.patient_id, text.body, row.id) == (ana, "See you Thursday!", text.reminder_id)
    assert entry.username == "terry" and json.loads(entry.detail)["text"] == "See you Thursday!"


def test_a_refused_text_exits_non_zero_with_the_reason(
    config: Path, engine: Engine, ana: int
) -> None:
    with engine.begin() as conn:
        conn.execute(update(patients).values(opted_out=True))

    code, output = outreach(config, "messages", "send", "P-1", "Are you OK?", "--as", "terry")

    assert code == 1 and "not sent: the patient opted out of texts" in output
    with engine.connect() as conn:
        assert conn.execute(select(staff_messages)).all() == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["NOPE", "Hi", "--as", "terry"], "no patient with id or phone 'NOPE'"),
        (["P-1", "Hi", "--as", "nobody"], "no active staff user 'nobody'"),
        (["P-1", "About your diabetes", "--as", "terry"], "names a diagnosis (diabetes)"),
        (["P-1", "   ", "--as", "terry"], "the text is empty"),
    ],
)
def test_a_wrong_patient_user_or_text_is_named(
    config: Path, ana: int, args: list[str], words: str
) -> None:
    code, output = outreach(config, "messages", "send", *args)

    assert code == 1 and words in output
