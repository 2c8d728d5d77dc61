"""Answers to the two questions issue 14 adds: "We missed you today. Reply R to rebook" and a
waitlist offer's "Reply YES to take it". Replies written as patients write them."""

from __future__ import annotations

import pytest

from outreach.rules.replies.conversation import interpret
from outreach.rules.replies.outcome import (
    DeclineSlot,
    Escalate,
    Intent,
    Observe,
    PatientContext,
    Prompt,
    TakeSlot,
)
from outreach.rules.vocabulary import ObservationKind, Severity

EN = PatientContext(consent_granted=True, opted_out=False)
ES = PatientContext(consent_granted=True, opted_out=False, language="es")
MISSED = Prompt(21, "no_show", ref=701)
OFFER = Prompt(22, "slot_offer", ref=9)
FOOT_CHECK = Prompt(12, "foot_check")


@pytest.mark.parametrize(
    ("context", "text"),
    [(EN, "R"), (EN, "r"), (EN, "R please"), (EN, "I need to reschedule"), (ES, "R")],
)
def test_r_to_a_no_show_text_asks_staff_for_a_new_time(context: PatientContext, text: str) -> None:
    outcome = interpret(context, [MISSED], text)
    assert outcome.intent is Intent.SESSION_RESCHEDULE
    assert Observe(ObservationKind.RESCHEDULE_REQUESTED) in outcome.actions
    assert [e.severity for e in outcome.escalations] == [Severity.ROUTINE]
    assert outcome.reply == "session_reschedule"
    assert outcome.answers == MISSED
    assert outcome.needs_review  # a person calls them


def test_a_missed_session_with_a_danger_sign_still_escalates_the_sign() -> None:
    outcome = interpret(EN, [MISSED], "R, I fell on the stairs yesterday and my ankle is swollen")
    assert outcome.intents[0] is Intent.SESSION_RESCHEDULE
    assert Intent.SYMPTOM in outcome.intents
    assert any(e.reason != "reschedule" for e in outcome.escalations)


@pytest.mark.parametrize(
    ("context", "text"),
    [
        (EN, "YES"),
        (EN, "yes"),
        (EN, "Yes please"),
        (EN, "yes!"),
        (ES, "SÍ"),
        (ES, "si"),
        (ES, "Si por favor"),
    ],
)
def test_yes_to_a_waitlist_offer_asks_for_the_slot(context: PatientContext, text: str) -> None:
    outcome = interpret(context, [OFFER], text)
    assert outcome.intent is Intent.SLOT_TAKE
    assert outcome.actions == (TakeSlot(9),)
    assert outcome.reply == "slot_taken"
    assert outcome.answers == OFFER


@pytest.mark.parametrize(
    ("context", "text"), [(EN, "no"), (EN, "No thanks"), (EN, "nope"), (ES, "no gracias")]
)
def test_no_to_a_waitlist_offer_declines_it(context: PatientContext, text: str) -> None:
    outcome = interpret(context, [OFFER], text)
    assert outcome.intent is Intent.SLOT_DECLINE
    assert outcome.actions == (DeclineSlot(9),)
    assert outcome.reply == "slot_declined"


def test_a_bare_c_is_the_session_reminders_letter_not_a_yes_to_an_offer() -> None:
    session = Prompt(23, "session", ref=702)
    for open_questions in ([OFFER, session], [session, OFFER]):
        outcome = interpret(EN, open_questions, "C")
        assert outcome.intent is Intent.SESSION_CONFIRM
        assert not any(isinstance(a, TakeSlot) for a in outcome.actions)
    alone = interpret(EN, [OFFER], "C")
    assert not any(isinstance(a, TakeSlot) for a in alone.actions)


def test_an_offer_answer_the_rules_do_not_understand_goes_to_a_person() -> None:
    outcome = interpret(EN, [OFFER], "what time would that be")
    assert not any(isinstance(a, TakeSlot | DeclineSlot) for a in outcome.actions)
    assert outcome.needs_review


def test_yes_to_an_offer_with_a_foot_wound_takes_the_slot_and_escalates_the_wound() -> None:
    outcome = interpret(EN, [OFFER], "yes, and there is a new sore on my foot that is bleeding")
    assert TakeSlot(9) in outcome.actions
    assert any(
        isinstance(a, Escalate) and a.severity in (Severity.URGENT, Severity.EMERGENCY)
        for a in outcome.actions
    )
    assert "slot_taken" in outcome.replies  # kept beside the safety text


def test_a_one_to_a_foot_check_is_not_taken_as_yes_to_an_older_offer() -> None:
    outcome = interpret(EN, [FOOT_CHECK, OFFER], "1")
    assert outcome.intent is Intent.FOOT_OK
    assert not any(isinstance(a, TakeSlot) for a in outcome.actions)
