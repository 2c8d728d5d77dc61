"""Replies: stored raw first, acted on once, never lost, and answered in the patient's language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import (
    appointment_table,
    consent_events,
    escalations,
    inbound_messages,
    observations,
    outbound_messages,
    patients,
    reminders,
)
from outreach.planning.planner import plan_due
from outreach.replies import inbound
from outreach.sending.dispatcher import Dispatcher
from outreach.texts.render import Renderer
from outreach.transports import SendError
from tests.support.patients import enrol
from tests.support.transport import RecordingTransport

PHONE = "+16175550142"


class Clinic:
    """A patient, the real dispatcher, and replies through the real inbound path."""

    def __init__(
        self, engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
    ) -> None:
        self.engine, self.settings, self.clock, self.renderer = engine, settings, clock, renderer
        self.transport = RecordingTransport()
        self.dispatcher = Dispatcher(engine, settings, clock, self.transport, renderer, "w")

    def run_until(self, kind: str) -> None:
        """Advance the clock in 15-minute steps until a reminder of `kind` goes out."""
        for _ in range(4 * 24 * 3):
            plan_due(self.engine, self.settings, self.clock.now())
            self.dispatcher.run()
            with self.engine.begin() as conn:
                went_out = conn.execute(
                    select(outbound_messages.c.id).where(
                        outbound_messages.c.template == kind, outbound_messages.c.status != "failed"
                    )
                ).first()
            if went_out is not None:
                return
            self.clock.advance(timedelta(minutes=15))
        raise AssertionError(f"no {kind} reminder went out")

    def reply(self, body: str, sid: str | None = None) -> str:
        self.clock.advance(timedelta(minutes=3))
        inbound.receive(
            self.engine,
            self.settings,
            self.renderer,
            self.transport,
            self.clock.now(),
            from_phone=PHONE,
            body=body,
            provider_sid=sid,
        )
        return self.transport.sent[-1].body

    def rows(self, table: Any) -> list[Any]:
        with self.engine.begin() as conn:
            return list(conn.execute(select(table).order_by(table.c.id)).all())


@pytest.fixture
def clinic(engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer) -> Clinic:
    enrol(engine, settings, clock.now())
    return Clinic(engine, settings, clock, renderer)


def test_a_new_foot_problem_goes_through_the_follow_up_to_an_urgent_escalation(
    clinic: Clinic,
) -> None:
    clinic.run_until("foot_check")
    follow_up = clinic.reply("2")
    safety = clinic.reply("1")

    assert "1 Open sore" in follow_up
    assert "keep weight off" in safety.lower() and "urgent care" in safety.lower()
    [escalation] = clinic.rows(escalations)  # the first report, now settled as urgent
    assert (escalation.severity, escalation.reason) == ("urgent", "foot_open_sore")
    assert [o.kind for o in clinic.rows(observations)] == ["foot_problem", "foot_followup"]


def test_a_foot_problem_whose_follow_up_is_never_answered_still_reaches_staff(
    clinic: Clinic,
) -> None:
    clinic.run_until("foot_check")
    clinic.reply("2")
    clinic.clock.advance(timedelta(days=2))

    [escalation] = clinic.rows(escalations)
    assert (escalation.severity, escalation.reason) == ("review", "foot_problem")
    assert escalation.resolved_at is None


def test_a_high_pain_score_gets_the_stop_for_today_text_and_an_escalation(
    clinic: Clinic,
) -> None:
    clinic.run_until("exercise")
    text = clinic.reply("DONE 8")

    assert "stop for today" in text.lower()
    [escalation] = clinic.rows(escalations)
    assert (escalation.severity, escalation.reason, escalation.detail) == (
        "urgent",
        "pain",
        "pain 8/10 (baseline 2)",
    )
    [done] = clinic.rows(observations)
    assert (done.kind, done.value) == ("exercise_done", 8)


def test_confirming_a_session_marks_the_appointment(clinic: Clinic) -> None:
    clinic.run_until("session")
    text = clinic.reply("c")

    assert "confirmed" in text.lower()
    assert "confirmed" in {a.status for a in clinic.rows(appointment_table)}


def test_after_stop_not_one_more_reminder_leaves(clinic: Clinic) -> None:
    clinic.run_until("foot_check")
    confirmation = clinic.reply("  STOP. ")
    sent_before = len(clinic.transport.sent)
    for _ in range(3 * 24 * 4):  # three more days
        plan_due(clinic.engine, clinic.settings, clinic.clock.now())
        clinic.dispatcher.run()
        clinic.clock.advance(timedelta(minutes=15))

    assert "unsubscribed" in confirmation.lower()
    assert len(clinic.transport.sent) == sent_before
    assert clinic.rows(patients)[0].opted_out
    assert [e.event for e in clinic.rows(consent_events)][-1] == "opted_out"
    assert {r.skip_reason for r in clinic.rows(reminders) if r.state == "skipped"} == {"opted_out"}


def test_a_reply_is_stored_verbatim_even_when_interpreting_it_fails(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug in the rules")

    monkeypatch.setattr(inbound, "interpret", broken)
    clinic.clock.advance(timedelta(hours=2))
    inbound.receive(
        clinic.engine,
        clinic.settings,
        clinic.renderer,
        clinic.transport,
        clinic.clock.now(),
        from_phone=PHONE,
        body="my foot looks red",
        provider_sid="SM1",
    )

    [stored] = clinic.rows(inbound_messages)
    assert stored.body == "my foot looks red" and stored.processed_at is None
    assert "a bug in the rules" in stored.error and stored.needs_review

    monkeypatch.undo()
    retried = inbound.process_pending(
        clinic.engine, clinic.settings, clinic.renderer, clinic.transport, clinic.clock.now()
    )
    [stored] = clinic.rows(inbound_messages)
    assert retried == 1 and stored.processed_at is not None and stored.error is None
    assert stored.intent == "symptom" and stored.needs_review  # a red foot: the screen reads it


def test_the_same_provider_message_is_stored_once(clinic: Clinic) -> None:
    for _ in range(2):
        inbound.store(
            clinic.engine, clinic.clock.now(), from_phone=PHONE, body="1", provider_sid="SMx"
        )

    assert len(clinic.rows(inbound_messages)) == 1


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "'; DROP TABLE patient; --",
        "{{ 7*7 }} {% for x in y %}",
        "足が痛い",
        "x" * 1600,
        "",
    ],
)
def test_odd_bodies_are_stored_verbatim_and_answered_with_the_options(
    clinic: Clinic, body: str
) -> None:
    reply = clinic.reply(body)

    [stored] = clinic.rows(inbound_messages)
    assert stored.body == body
    assert stored.intent == "unknown" and stored.needs_review
    assert "49" not in reply and "Riverside PT:" in reply


def test_a_reply_from_an_unknown_number_is_kept_for_staff_and_not_answered(
    clinic: Clinic,
) -> None:
    inbound.receive(
        clinic.engine,
        clinic.settings,
        clinic.renderer,
        clinic.transport,
        clinic.clock.now(),
        from_phone="+12125550199",
        body="who is this?",
    )

    [stored] = clinic.rows(inbound_messages)
    assert (stored.intent, stored.needs_review, stored.patient_id) == ("unknown_sender", True, None)
    assert clinic.transport.sent == []


def test_spanish_speakers_are_answered_in_spanish(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> None:
    enrol(engine, settings, clock.now(), language="es", consent=False)
    clinic = Clinic(engine, settings, clock, renderer)
    clinic.run_until("consent")

    text = clinic.reply("Sí")

    assert "Gracias" in text
    assert clinic.rows(patients)[0].consent_state == "granted"


@pytest.mark.parametrize("body", ["🦶 me duele 😢", "my toes feel numb and tingly today"])
def test_a_symptom_in_free_text_is_escalated_for_review_and_never_answered_with_the_menu(
    clinic: Clinic, body: str
) -> None:
    reply = clinic.reply(body)

    [stored] = clinic.rows(inbound_messages)
    [escalation] = clinic.rows(escalations)
    assert stored.body == body and stored.intent == "symptom" and stored.needs_review
    assert escalation.severity == "review" and escalation.reason in ("symptom", "hurt")
    assert "Reply" not in reply and ("will read" in reply or "va a leer" in reply)


@pytest.mark.parametrize(
    ("earlier", "escalated"),
    [
        pytest.param(["exercise_skipped", "exercise_skipped"], True, id="third-skip-in-a-row"),
        pytest.param(["exercise_skipped", "exercise_done"], False, id="a-done-day-in-between"),
        pytest.param([], False, id="first-skip"),
    ],
)
def test_a_third_exercise_day_skipped_in_a_row_raises_a_routine_escalation(
    clinic: Clinic, earlier: list[str], escalated: bool
) -> None:
    clinic.run_until("exercise")
    [patient] = clinic.rows(patients)
    with clinic.engine.begin() as conn:  # the answers of earlier exercise days, oldest first
        for days_ago, kind in zip((3, 1), earlier, strict=False):
            conn.execute(
                observations.insert().values(
                    patient_id=patient.id,
                    kind=kind,
                    at=clinic.clock.now() - timedelta(days=days_ago),
                )
            )
    text = clinic.reply("skipped today")

    assert text.startswith("Riverside PT: Noted.")
    flags = [(e.severity, e.reason) for e in clinic.rows(escalations)]
    assert flags == ([("routine", "exercises_skipped")] if escalated else [])


@pytest.mark.parametrize("taken", [True, False], ids=["taken", "not_taken"])
def test_a_reply_text_whose_answer_was_lost_is_looked_up_before_it_is_sent_again(
    clinic: Clinic, taken: bool
) -> None:
    # "accepted": the provider took the text and the answer was lost on the way back.
    code = "accepted" if taken else "network"
    clinic.transport.failures = [SendError("timed out", permanent=False, code=code, uncertain=True)]
    inbound.receive(
        clinic.engine,
        clinic.settings,
        clinic.renderer,
        clinic.transport,
        clinic.clock.now(),
        from_phone=PHONE,
        body="xyzzy",  # not understood: answered with the options,
    )

    [answer] = clinic.rows(outbound_messages)
    assert (answer.status, answer.provider_sid) == ("unknown", None)

    clinic.clock.advance(timedelta(minutes=1))
    inbound.process_pending(
        clinic.engine, clinic.settings, clinic.renderer, clinic.transport, clinic.clock.now()
    )

    [answer] = clinic.rows(outbound_messages)
    [sent] = clinic.transport.sent
    assert answer.provider_sid == f"SM{sent.message_id:032d}"
    assert answer.status == ("sent" if taken else "queued")
