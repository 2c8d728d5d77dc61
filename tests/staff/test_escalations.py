"""Acknowledging and resolving escalations: one conditional update each, audited in the same
transaction, and a clear answer for whoever comes second. Escalations are raised the real
way: a foot check goes out through the planner and dispatcher, and the patient replies."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from outreach.accounts.users import Staff, load_staff
from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import audit_events, staff_users
from outreach.rules import reasonwords
from outreach.staff import escalations
from outreach.staff.escalations import NoteError, NotFound
from outreach.texts.render import Renderer
from tests.support.escalations import Clinic


def member(engine: Engine, username: str) -> Staff:
    """A staff user made by the `staff` fixture (admin: Alex Admin, terry: Terry Therapist)."""
    with engine.begin() as conn:
        user_id = conn.execute(
            select(staff_users.c.id).where(staff_users.c.username == username)
        ).scalar_one()
        found = load_staff(conn, user_id)
    assert found is not None
    return found


def audit_log(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.begin() as conn:
        rows = conn.execute(select(audit_events).order_by(audit_events.c.id)).all()
    return [(r.username, r.action, json.loads(r.detail)) for r in rows]


@pytest.fixture
def clinic(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer, staff: None
) -> Clinic:
    return Clinic(engine, settings, clock, renderer, patients=1)


@pytest.mark.parametrize(
    ("reason", "detail", "words"),
    [
        ("foot_open_sore", "open sore, bleeding or pus", "open sore, bleeding or pus"),
        ("foot_red_hot_swollen", "red, hot or swollen", "red, hot or swollen foot"),
        ("foot_blister", "blister, cut or callus", "blister, cut or callus"),
        ("foot_problem", "", "something new on a foot (details asked)"),
        ("pain", "pain 8/10 (baseline 2)", "pain 8 of 10"),
        ("pain", "", "pain"),
        ("chest_pain", 'chest pain: "chest feels tight"', "chest pain or tightness"),
        ("cannot_get_up", 'cannot get up: "cant get up"', "fell and could not get up"),
        ("open_wound", 'open wound: "llaga"', "open sore or wound"),
        ("reschedule", "asked to reschedule a session", "wants to reschedule"),
        ("stop_request", "asked to stop", "asked to stop texts"),
        ("something_new", "", "something new"),
    ],
)  # fmt: skip
def test_each_reason_reads_in_plain_words(reason: str, detail: str, words: str) -> None:
    assert reasonwords.reason_words(reason, detail) == words


def test_a_foot_check_answered_2_then_1_is_an_urgent_open_sore(clinic: Clinic) -> None:
    clinic.reply("P-1", "2", "1")

    [row] = escalations.listing(clinic.engine, "open")
    assert (row.severity, row.reason_words, row.reply, row.state) == (
        "urgent", "open sore, bleeding or pus", "1", "open",
    )  # fmt: skip


def test_acknowledging_records_who_and_when_and_audits_it(
    clinic: Clinic, engine: Engine, clock: ManualClock
) -> None:
    clinic.reply("P-1", "2", "1")
    reported = clock.now()
    clock.advance(timedelta(minutes=7))
    terry = member(engine, "terry")

    acted = escalations.acknowledge(engine, clinic.escalation("P-1"), terry, clock.now())

    assert (acted.done, acted.by, acted.at) == (True, "Terry Therapist", clock.now())
    row = escalations.find(engine, clinic.escalation("P-1"))
    assert (row.state, row.acknowledged_by, row.acknowledged_at) == (
        "acknowledged", "Terry Therapist", clock.now(),
    )  # fmt: skip
    assert row.first_action_at is not None and row.first_action_at - reported == timedelta(
        minutes=7
    )
    assert audit_log(engine) == [
        ("terry", "escalation_acknowledged", {"escalation": clinic.escalation("P-1")})
    ]


def test_a_second_acknowledge_is_told_who_got_there_first_and_changes_nothing(
    clinic: Clinic, engine: Engine, clock: ManualClock
) -> None:
    clinic.reply("P-1", "2", "1")
    escalation_id = clinic.escalation("P-1")
    escalations.acknowledge(engine, escalation_id, member(engine, "terry"), clock.now())
    first = clock.now()
    clock.advance(timedelta(minutes=1))

    acted = escalations.acknowledge(engine, escalation_id, member(engine, "admin"), clock.now())

    assert (acted.done, acted.by, acted.at) == (False, "Terry Therapist", first)
    assert escalations.find(engine, escalation_id).acknowledged_at == first
    assert [action for _, action, _ in audit_log(engine)] == ["escalation_acknowledged"]


def test_resolving_an_unacknowledged_one_acknowledges_it_too(
    clinic: Clinic, engine: Engine, clock: ManualClock
) -> None:
    clinic.reply("P-1", "2", "3")
    clock.advance(timedelta(minutes=30))
    escalation_id = clinic.escalation("P-1")

    acted = escalations.resolve(
        engine, escalation_id, member(engine, "admin"), "  Called; dressing advice.  ", clock.now()
    )

    assert acted.done
    row = escalations.find(engine, escalation_id)
    assert (row.state, row.note) == ("resolved", "Called; dressing advice.")
    assert row.acknowledged_at == row.resolved_at == clock.now()
    assert row.acknowledged_by == row.resolved_by == "Alex Admin"
    assert audit_log(engine) == [
        (
            "admin",
            "escalation_resolved",
            {"escalation": escalation_id, "note": "Called; dressing advice."},
        )
    ]


def test_resolving_keeps_the_earlier_acknowledgement(
    clinic: Clinic, engine: Engine, clock: ManualClock
) -> None:
    clinic.reply("P-1", "2", "1")
    escalation_id = clinic.escalation("P-1")
    escalations.acknowledge(engine, escalation_id, member(engine, "terry"), clock.now())
    acknowledged = clock.now()
    clock.advance(timedelta(hours=2))

    escalations.resolve(
        engine, escalation_id, member(engine, "admin"), "Seen in clinic.", clock.now()
    )

    row = escalations.find(engine, escalation_id)
    assert (row.acknowledged_at, row.acknowledged_by) == (acknowledged, "Terry Therapist")
    assert (row.resolved_at, row.resolved_by) == (clock.now(), "Alex Admin")


def test_resolving_twice_reports_the_first_resolver(
    clinic: Clinic, engine: Engine, clock: ManualClock
) -> None:
    clinic.reply("P-1", "2", "1")
    escalation_id = clinic.escalation("P-1")
    escalations.resolve(engine, escalation_id, member(engine, "terry"), "Called.", clock.now())

    acted = escalations.resolve(
        engine, escalation_id, member(engine, "admin"), "Me too.", clock.now()
    )

    assert (acted.done, acted.by) == (False, "Terry Therapist")
    assert escalations.find(engine, escalation_id).note == "Called."


@pytest.mark.parametrize("note", ["", "   \n ", "x" * 2001])
def test_a_blank_or_overlong_note_is_refused_and_nothing_changes(
    clinic: Clinic, engine: Engine, clock: ManualClock, note: str
) -> None:
    clinic.reply("P-1", "2", "1")
    escalation_id = clinic.escalation("P-1")

    with pytest.raises(NoteError):
        escalations.resolve(engine, escalation_id, member(engine, "admin"), note, clock.now())

    assert escalations.find(engine, escalation_id).state == "open"
    assert audit_log(engine) == []


def test_a_note_of_exactly_2000_characters_is_accepted(
    clinic: Clinic, engine: Engine, clock: ManualClock
) -> None:
    clinic.reply("P-1", "2", "1")
    escalation_id = clinic.escalation("P-1")

    escalations.resolve(engine, escalation_id, member(engine, "admin"), "n" * 2000, clock.now())

    assert escalations.find(engine, escalation_id).note == "n" * 2000


def test_an_unknown_escalation_is_not_found(
    engine: Engine, clock: ManualClock, staff: None
) -> None:
    admin = member(engine, "admin")
    with pytest.raises(NotFound):
        escalations.acknowledge(engine, 999, admin, clock.now())
    with pytest.raises(NotFound):
        escalations.resolve(engine, 999, admin, "note", clock.now())
    with pytest.raises(NotFound):
        escalations.find(engine, 999)


def test_two_acknowledges_at_once_have_exactly_one_winner(
    clinic: Clinic, engine: Engine, clock: ManualClock
) -> None:
    clinic.reply("P-1", "2", "1")
    escalation_id = clinic.escalation("P-1")
    people = [member(engine, "admin"), member(engine, "terry")]
    start = threading.Barrier(len(people))

    def press(who: Staff) -> escalations.Acted:
        start.wait()
        return escalations.acknowledge(engine, escalation_id, who, clock.now())

    for _ in range(5):  # each round on a fresh escalation: a new foot problem report
        with ThreadPoolExecutor(len(people)) as pool:
            results = list(pool.map(press, people))
        winners = [r for r in results if r.done]
        assert len(winners) == 1
        [loser] = [r for r in results if not r.done]
        assert loser.by == winners[0].by
        row = escalations.find(engine, escalation_id)
        assert row.acknowledged_by == winners[0].by
        escalations.resolve(engine, escalation_id, people[0], "done", clock.now())
        clock.advance(timedelta(minutes=1))
        clinic.reply("P-1", "stop texting me")
        escalation_id = clinic.escalation("P-1")
        clinic.reply("P-1", "START")
    acknowledged = [a for _, a, _ in audit_log(engine) if a == "escalation_acknowledged"]
    assert len(acknowledged) == 5


def test_the_list_filters_by_state_and_severity(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer, staff: None
) -> None:
    clinic = Clinic(engine, settings, clock, renderer, patients=3)
    clinic.reply("P-1", "2", "1")  # urgent
    clinic.reply("P-2", "2", "3")  # routine
    clinic.reply("P-3", "stop texting me")  # review
    admin = member(engine, "admin")
    escalations.acknowledge(engine, clinic.escalation("P-2"), admin, clock.now())
    escalations.resolve(engine, clinic.escalation("P-3"), admin, "Removed from list.", clock.now())

    def listed(state: str, severity: str | None = None) -> list[str]:
        return [row.patient_id for row in escalations.listing(engine, state, severity)]

    assert listed("open") == ["P-1"]
    assert listed("acknowledged") == ["P-2"]
    assert listed("resolved") == ["P-3"]
    assert listed("unresolved") == ["P-1", "P-2"]
    assert listed("all") == ["P-1", "P-2", "P-3"]
    assert listed("all", "routine") == ["P-2"]
    assert listed("open", "routine") == []


@pytest.mark.parametrize("note", ["called\x00", "called \x1b[31m"])
def test_a_note_with_control_characters_is_refused_but_line_breaks_are_kept(note: str) -> None:
    from outreach.staff.escalations import check_note

    with pytest.raises(NoteError, match="control characters"):
        check_note(note)
    assert check_note("Called her.\r\nAdvised rest.\tSee Monday.") == (
        "Called her.\r\nAdvised rest.\tSee Monday."
    )
