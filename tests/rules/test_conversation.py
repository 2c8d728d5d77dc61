"""What a reply means: DOMAIN.md's message table, one row per test case.

The danger signs in a patient's own words (tiers, negations, false friends, the property
tests) are in tests/rules/test_screen.py; this file is about answers, opt-outs and which question
a reply answers, and about replies that mean several things at once.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.rules.replies.conversation import interpret
from outreach.rules.replies.keywords import STOP_WORDS, normalise
from outreach.rules.replies.outcome import (
    Escalate,
    GrantConsent,
    Intent,
    Observe,
    OptIn,
    OptOut,
    Outcome,
    PatientContext,
    Prompt,
    SetAppointment,
)
from outreach.rules.replies.pain import pain_severity
from outreach.rules.replies.screen import Screen
from outreach.rules.vocabulary import Severity

CONSENTED = PatientContext(consent_granted=True, opted_out=False)
PENDING = PatientContext(consent_granted=False, opted_out=False)
OPTED_OUT = PatientContext(consent_granted=True, opted_out=True)
CONSENTED_ES = PatientContext(consent_granted=True, opted_out=False, language="es")
PENDING_ES = PatientContext(consent_granted=False, opted_out=False, language="es")
OPTED_OUT_ES = PatientContext(consent_granted=True, opted_out=True, language="es")

APPOINTMENT = 501
CONSENT = Prompt(10, "consent")
SESSION = Prompt(11, "session", ref=APPOINTMENT)
FOOT_CHECK = Prompt(12, "foot_check")
FOLLOWUP = Prompt(13, "foot_followup")
EXERCISE = Prompt(14, "exercise")
EVERY_PROMPT = [FOLLOWUP, FOOT_CHECK, EXERCISE, SESSION]


def escalations(outcome: Outcome) -> list[Escalate]:
    return [action for action in outcome.actions if isinstance(action, Escalate)]


def decided(outcome: Outcome) -> Outcome:
    """The outcome without the screen's working, to compare whole with an expected one."""
    return replace(outcome, screen=Screen())


def opts_out(outcome: Outcome) -> bool:
    return any(isinstance(action, OptOut) for action in outcome.actions)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(" Stop! ", "stop", id="trims-and-drops-punctuation"),
        pytest.param("STOP\n", "stop", id="drops-a-trailing-newline"),
        pytest.param("¡Sí!", "si", id="folds-accents-and-spanish-marks"),
        pytest.param("AYUDA", "ayuda", id="lowercases"),
        pytest.param("Don't text me", "dont text me", id="drops-apostrophes-inside-words"),
        pytest.param("Don\u2019t text me", "dont text me", id="drops-curly-apostrophes"),
        pytest.param("DONE 3/10", "done 3/10", id="keeps-the-slash-of-a-score"),
        pytest.param("Done,  pain   3", "done pain 3", id="collapses-commas-and-spaces"),
        pytest.param("stop 🛑", "stop", id="drops-emoji"),
        pytest.param("ＳＴＯＰ", "stop", id="folds-fullwidth-letters"),
        pytest.param("Opt-Out", "opt out", id="hyphen-becomes-a-space"),
        pytest.param("no más mensajes", "no mas mensajes", id="spanish-words"),
        pytest.param("  \t\n ", "", id="blank-is-empty"),
    ],
)
def test_normalise_reduces_a_reply_to_plain_lowercase_words(text: str, expected: str) -> None:
    assert normalise(text) == expected


# --- opt-out keywords -------------------------------------------------------------------

STOP_KEYWORD_TEXTS = [
    pytest.param("STOP", "stop", id="STOP"),
    pytest.param("stop", "stop", id="stop-lowercase"),
    pytest.param("  Stop. ", "stop", id="stop-spaces-and-full-stop"),
    pytest.param("stop!!", "stop", id="stop-exclamations"),
    pytest.param("STOP\n", "stop", id="stop-newline"),
    pytest.param("StopAll", "stopall", id="STOPALL"),
    pytest.param("unsubscribe", "unsubscribe", id="UNSUBSCRIBE"),
    pytest.param("Cancel", "cancel", id="CANCEL"),
    pytest.param("END", "end", id="END"),
    pytest.param("quit.", "quit", id="QUIT"),
    pytest.param("REVOKE", "revoke", id="REVOKE"),
    pytest.param("OptOut", "optout", id="OPTOUT"),
    pytest.param("Baja", "baja", id="BAJA-spanish"),
    pytest.param("¡BAJA!", "baja", id="BAJA-spanish-marks"),
]
ANY_STATE = [
    pytest.param(CONSENTED, id="consented"),
    pytest.param(PENDING, id="consent-pending"),
]
ANY_PROMPTS = [
    pytest.param([], id="no-open-question"),
    pytest.param([SESSION], id="session-open"),
    pytest.param([CONSENT], id="consent-open"),
    pytest.param(EVERY_PROMPT, id="every-kind-open"),
]


@pytest.mark.parametrize(("text", "keyword"), STOP_KEYWORD_TEXTS)
@pytest.mark.parametrize("context", ANY_STATE)
@pytest.mark.parametrize("prompts", ANY_PROMPTS)
def test_a_stop_keyword_as_the_whole_message_opts_out_whatever_is_open(
    text: str, keyword: str, context: PatientContext, prompts: list[Prompt]
) -> None:
    outcome = interpret(context, prompts, text)
    assert outcome.intent is Intent.OPT_OUT
    assert outcome.actions == (OptOut(keyword),)
    assert outcome.reply == "opted_out"
    assert outcome.answers is None


@pytest.mark.parametrize(("text", "keyword"), STOP_KEYWORD_TEXTS)
def test_a_second_stop_gets_no_second_confirmation(text: str, keyword: str) -> None:
    outcome = interpret(OPTED_OUT, EVERY_PROMPT, text)
    assert (outcome.intent, outcome.actions, outcome.reply) == (Intent.IGNORED, (), None)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("stop by tomorrow?", id="stop-by-tomorrow"),
        pytest.param("I will stop by", id="i-will-stop-by"),
        pytest.param("I can't stop smiling", id="cant-stop-smiling"),
        pytest.param("I quit smoking!", id="quit-smoking"),
        pytest.param("STOP_", id="underscore-is-not-punctuation"),
    ],
)
def test_a_stop_word_inside_other_text_is_not_an_opt_out(text: str) -> None:
    outcome = interpret(CONSENTED, [SESSION], text)
    assert outcome.intent is Intent.UNKNOWN
    assert not any(isinstance(action, OptOut) for action in outcome.actions)
    assert outcome.prompt_for_options == "session"
    assert outcome.needs_review


def test_cancel_my_appointment_is_a_reschedule_request_for_staff_not_an_opt_out() -> None:
    # Was "anything else" (staff saw it as unrecognised); now the words ask for a new time.
    outcome = interpret(CONSENTED, [SESSION], "cancel my appointment")
    assert outcome.intent is Intent.SESSION_RESCHEDULE
    assert not opts_out(outcome)
    assert SetAppointment(APPOINTMENT, "reschedule_requested") in outcome.actions
    assert outcome.needs_review


def test_the_pain_came_to_an_end_is_not_an_opt_out_and_gets_no_menu() -> None:
    # Was "anything else" with the session menu; a reply about pain now goes to a person
    # and is never answered with a menu.
    outcome = interpret(CONSENTED, [SESSION], "the pain came to an end")
    assert not opts_out(outcome)
    assert outcome.answers is None
    assert outcome.replies == ("review",)
    assert outcome.prompt_for_options is None
    assert outcome.needs_review


# --- free text that asks to stop --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("stop texting me", id="en-stop-texting-me"),
        pytest.param("Stop sending me these messages", id="en-stop-sending"),
        pytest.param("Please don't text me anymore", id="en-dont-text-me"),
        pytest.param("do not contact me", id="en-do-not-contact"),
        pytest.param("I don't want these texts", id="en-dont-want-texts"),
        pytest.param("no more texts please", id="en-no-more-texts"),
        pytest.param("No more", id="en-no-more-alone"),
        pytest.param("unsubscribe me", id="en-unsubscribe-me"),
        pytest.param("remove me from this list", id="en-remove-me"),
        pytest.param("leave me alone", id="en-leave-me-alone"),
        pytest.param("please stop", id="en-please-stop"),
        pytest.param("Stop please!", id="en-stop-please"),
        pytest.param("Stop it", id="en-stop-it"),
        pytest.param("stop stop", id="en-stop-stop"),
        pytest.param("stop all", id="en-stop-all-with-a-space"),
        pytest.param("Opt-Out", id="en-opt-out-hyphenated"),
        pytest.param("no más mensajes", id="es-no-mas-mensajes"),
        pytest.param("No más", id="es-no-mas-alone"),
        pytest.param("dejen de enviarme mensajes", id="es-dejen-de-enviarme"),
        pytest.param("deja de escribirme", id="es-deja-de-escribirme"),
        pytest.param("No me envíen más mensajes", id="es-no-me-envien"),
        pytest.param("ya no quiero mensajes", id="es-ya-no-quiero-mensajes"),
        pytest.param("No quiero recibir más mensajes", id="es-no-quiero-recibir"),
    ],
)
@pytest.mark.parametrize("context", [CONSENTED, PENDING], ids=["consented", "consent-pending"])
def test_free_text_asking_to_stop_opts_out_and_is_shown_to_staff(
    text: str, context: PatientContext
) -> None:
    outcome = interpret(context, EVERY_PROMPT, text)
    assert outcome.intent is Intent.STOP_REQUEST
    assert OptOut("free text") in outcome.actions
    assert [e.severity for e in escalations(outcome)] == ["review"]
    assert outcome.reply == "opted_out"
    assert outcome.needs_review


def test_stop_in_capitals_opening_a_longer_reply_is_the_carrier_keyword() -> None:
    # "STOP STOP" was a free-text stop request; a capital STOP opening a reply is now the
    # keyword itself ("STOP my foot is bleeding"): it still opts out at once.
    outcome = interpret(CONSENTED, EVERY_PROMPT, "STOP STOP")
    assert outcome.intents == (Intent.OPT_OUT,)
    assert outcome.actions == (OptOut("stop"),)
    assert outcome.replies == ("opted_out",)


@pytest.mark.parametrize(
    ("text", "context"),
    [
        # Was a stop request ("ambiguous prefers safety"). Issue 11: a false opt-out silences
        # a patient's care, so wording not clearly about our texts goes to a person instead.
        pytest.param("No, me envíen la hora", CONSENTED_ES, id="no-comma-send-me-the-time"),
        pytest.param("cancelar", CONSENTED_ES, id="a-bare-cancelar"),
        pytest.param(
            "no me manden los ejercicios en inglés", CONSENTED_ES, id="not-the-exercises-in-english"
        ),
    ],
)
def test_wording_that_may_or_may_not_mean_our_texts_goes_to_staff_without_opting_out(
    text: str, context: PatientContext
) -> None:
    outcome = interpret(context, [SESSION], text)
    assert Intent.STOP_UNCLEAR in outcome.intents
    assert not opts_out(outcome)
    assert not any(isinstance(action, SetAppointment) for action in outcome.actions)
    assert outcome.replies == ("review",)  # a person will read it; no menu
    assert outcome.needs_review


def test_i_dont_text_much_is_not_a_request_to_stop() -> None:
    outcome = interpret(CONSENTED, EVERY_PROMPT, "I don't text much")
    assert not opts_out(outcome)
    assert outcome.needs_review


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("no pain today", id="no-pain-today"),
        pytest.param("No", id="a-bare-no"),
        pytest.param("I can't stop smiling", id="cant-stop-smiling"),
        pytest.param("stop by tomorrow?", id="stop-by"),
        pytest.param("no más dolor", id="es-no-more-pain-is-good-news"),
        pytest.param("no tengo dolor", id="es-no-pain"),
        pytest.param("can you text me the address", id="asks-for-a-text"),
    ],
)
def test_ordinary_words_no_and_stop_are_not_a_stop_request(text: str) -> None:
    outcome = interpret(CONSENTED, [FOOT_CHECK], text)
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.actions == ()
    assert outcome.prompt_for_options == "foot_check"


def test_no_new_sores_answers_the_foot_check_and_is_not_a_stop_request() -> None:
    # Was "anything else"; a negated sign in answer to the foot check now means all clear.
    outcome = interpret(CONSENTED, [FOOT_CHECK], "no new sores")
    assert outcome.intents == (Intent.FOOT_OK,)
    assert outcome.actions == (Observe("foot_ok"),)
    assert outcome.answers == FOOT_CHECK


# --- after an opt-out -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("START", "start"),
        ("start", "start"),
        ("Unstop", "unstop"),
        ("YES", "yes"),
        ("yes!", "yes"),
        ("SI", "si"),
        ("Sí", "si"),
    ],
)
def test_an_opted_out_patient_opts_back_in_with_start_unstop_or_yes(
    text: str, keyword: str
) -> None:
    outcome = interpret(OPTED_OUT, [SESSION], text)
    assert decided(outcome) == Outcome((Intent.OPT_IN,), (OptIn(keyword),), ("opted_in",))


@pytest.mark.parametrize(
    "text",
    ["HELP", "ayuda", "C", "1", "DONE 3", "SKIP", "hello?", "stop texting me", "", "Y"],
)
def test_an_opted_out_patient_gets_no_answer_to_anything_else(text: str) -> None:
    outcome = interpret(OPTED_OUT, EVERY_PROMPT, text)
    assert outcome.intent is Intent.IGNORED
    assert outcome.reply is None
    assert outcome.actions == ()
    assert outcome.answers is None


# --- help and consent -------------------------------------------------------------------


@pytest.mark.parametrize("text", ["HELP", "help?", "Info", "AYUDA", "¡Ayuda!"])
@pytest.mark.parametrize("context", [CONSENTED, PENDING], ids=["consented", "consent-pending"])
def test_help_info_and_ayuda_get_the_help_text(text: str, context: PatientContext) -> None:
    outcome = interpret(context, [CONSENT, SESSION], text)
    expected = Outcome((Intent.HELP,), replies=("help",), needs_review="?" in text)
    assert decided(outcome) == expected


@pytest.mark.parametrize(
    "text",
    [
        "YES",
        "yes",
        "Y",
        "y",
        "Sí",
        "SÍ",
        "sí",
        "si",
        "SI",
        "SI.",
        pytest.param(
            "s",
        ),
        "Yes!",
    ],
)
def test_yes_grants_a_pending_consent(text: str) -> None:
    outcome = interpret(PENDING, [CONSENT], text)
    assert outcome.intent is Intent.CONSENT
    assert outcome.actions == (GrantConsent(),)
    assert outcome.reply == "consent_granted"
    assert outcome.answers == CONSENT


# "ok", "yes please" and "sure" were here; issue 11 makes agreement in words consent.
@pytest.mark.parametrize("text", ["C", "1", "R", "DONE 3", "no", "hola", "2", "maybe later"])
def test_anything_but_agreement_while_consent_is_pending_lists_the_consent_options(
    text: str,
) -> None:
    outcome = interpret(PENDING, [CONSENT], text)
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.actions == ()
    assert outcome.reply == "unknown"
    assert outcome.prompt_for_options == "consent"
    assert outcome.needs_review


def test_a_pending_patient_with_no_consent_question_open_gets_the_generic_options() -> None:
    outcome = interpret(PENDING, [], "hello")
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.prompt_for_options is None


# --- session reminders ------------------------------------------------------------------


# "1" was here: a session reminder offers C and R, and a digit never confirms a session.
@pytest.mark.parametrize("text", ["C", "c", "confirm", "Confirm.", "confirmar", "Confirmo"])
def test_c_or_confirm_confirms_the_session(text: str) -> None:
    outcome = interpret(CONSENTED, [SESSION], text)
    assert outcome.intent is Intent.SESSION_CONFIRM
    assert SetAppointment(APPOINTMENT, "confirmed") in outcome.actions
    assert escalations(outcome) == []
    assert outcome.reply == "session_confirmed"
    assert outcome.answers == SESSION


# "2" was here: digits belong to the numbered menus, never to a session reminder.
@pytest.mark.parametrize(
    "text",
    [
        "R",
        "r",
        "reschedule",
        "Reprogramar",
        pytest.param(
            "cambiar",
        ),
    ],
)
def test_r_or_reschedule_asks_staff_to_reschedule_the_session(text: str) -> None:
    outcome = interpret(CONSENTED, [SESSION], text)
    assert outcome.intent is Intent.SESSION_RESCHEDULE
    assert SetAppointment(APPOINTMENT, "reschedule_requested") in outcome.actions
    assert [e.severity for e in escalations(outcome)] == ["routine"]
    assert outcome.reply == "session_reschedule"
    assert outcome.answers == SESSION


@pytest.mark.parametrize("text", ["1", "2", "3", " 1.", "#2"])
def test_a_digit_never_answers_a_session_reminder(text: str) -> None:
    # Was: 1 confirmed and 2 rescheduled. Issue 11: session reminders offer C and R only.
    outcome = interpret(CONSENTED, [SESSION], text)
    assert outcome.intent is Intent.UNKNOWN
    assert not any(isinstance(action, SetAppointment) for action in outcome.actions)
    assert outcome.answers is None
    assert outcome.prompt_for_options == "session"
    assert outcome.reply == "unknown"


@pytest.mark.parametrize("text", ["CANCEL", "cancel", "Cancel."])
def test_cancel_is_an_opt_out_never_a_session_answer(text: str) -> None:
    outcome = interpret(CONSENTED, [SESSION], text)
    assert outcome.intent is Intent.OPT_OUT
    assert not any(isinstance(action, SetAppointment) for action in outcome.actions)
    assert outcome.answers is None


def test_spanish_cancelar_is_not_a_carrier_keyword_so_staff_see_it() -> None:
    # Was "anything else" with the session menu; "cancelar" may mean the texts or the
    # session, so now a person reads it and the patient is told so (no menu).
    outcome = interpret(CONSENTED, [SESSION], "cancelar")
    assert outcome.intents == (Intent.STOP_UNCLEAR, Intent.UNKNOWN)
    assert outcome.actions == ()
    assert outcome.replies == ("review",)
    assert outcome.needs_review


def test_a_session_question_about_no_appointment_binds_nothing() -> None:
    outcome = interpret(CONSENTED, [Prompt(11, "session")], "C")
    assert outcome.intent is Intent.UNKNOWN


# --- foot checks ------------------------------------------------------------------------


def test_1_to_the_foot_check_records_all_ok() -> None:
    outcome = interpret(CONSENTED, [FOOT_CHECK], "1")
    expected = Outcome((Intent.FOOT_OK,), (Observe("foot_ok"),), ("foot_ok",), answers=FOOT_CHECK)
    assert decided(outcome) == expected


def test_2_to_the_foot_check_asks_the_follow_up_question() -> None:
    outcome = interpret(CONSENTED, [FOOT_CHECK], "2")
    assert outcome.intent is Intent.FOOT_PROBLEM
    assert outcome.asks == "foot_followup"
    assert outcome.reply == "foot_followup"
    assert outcome.answers == FOOT_CHECK
    # Staff hear of it at once, in case the follow-up is never answered.
    assert [(e.severity, e.reason) for e in escalations(outcome)] == [("review", "foot_problem")]


# "fine" was here: it now answers the foot check in words (all OK).
@pytest.mark.parametrize("text", ["3", "0", "12", "ok"])
def test_other_answers_to_the_foot_check_list_its_options(text: str) -> None:
    outcome = interpret(CONSENTED, [FOOT_CHECK], text)
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.prompt_for_options == "foot_check"
    assert outcome.needs_review


# FOOT_URGENT and FOOT_ROUTINE are gone: answers 1-3 are FOOT_PROBLEM, and the Escalate
# carries the tier.
@pytest.mark.parametrize(
    ("text", "intent", "answer", "severity", "reason", "reply"),
    [
        pytest.param(
            "1", Intent.FOOT_PROBLEM, 1, "urgent", "foot_open_sore", "foot_urgent",
            id="open-sore-is-urgent",
        ),
        pytest.param(
            "2", Intent.FOOT_PROBLEM, 2, "urgent", "foot_red_hot_swollen", "foot_urgent",
            id="red-hot-is-urgent",
        ),
        pytest.param(
            " 2.", Intent.FOOT_PROBLEM, 2, "urgent", "foot_red_hot_swollen", "foot_urgent",
            id="padded-2",
        ),
        pytest.param(
            "3", Intent.FOOT_PROBLEM, 3, "routine", "foot_blister", "foot_routine",
            id="blister-routine",
        ),
        pytest.param(
            "4", Intent.FOOT_OTHER, 4, "review", "foot_other", "foot_other",
            id="other-is-reviewed",
        ),
    ],
)  # fmt: skip
def test_it_escalates_a_foot_follow_up_by_what_the_patient_saw(
    text: str, intent: Intent, answer: int, severity: str, reason: str, reply: str
) -> None:
    outcome = interpret(CONSENTED, [FOLLOWUP], text)
    assert outcome.intents == (intent,)
    assert Observe("foot_followup", answer) in outcome.actions
    assert [(e.severity, e.reason) for e in escalations(outcome)] == [(severity, reason)]
    assert outcome.severity == severity
    assert outcome.replies == (reply,)
    assert outcome.answers == FOLLOWUP


@pytest.mark.parametrize("text", ["5", "0", "9", "maybe"])
def test_other_answers_to_the_foot_follow_up_list_its_options(text: str) -> None:
    outcome = interpret(CONSENTED, [FOLLOWUP], text)
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.prompt_for_options == "foot_followup"
    assert escalations(outcome) == []


def test_sore_alone_after_the_follow_up_goes_to_a_person_without_a_menu() -> None:
    # Was: the follow-up menu again, no escalation. "sore" is a symptom word now, and a
    # patient describing a symptom is never sent a menu: a person reads it.
    outcome = interpret(CONSENTED, [FOLLOWUP], "sore")
    assert [e.severity for e in escalations(outcome)] == ["review"]
    assert outcome.replies == ("review",)
    assert outcome.prompt_for_options is None
    assert outcome.needs_review


# --- home exercise ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "baseline", "intent", "pain", "severity"),
    [
        pytest.param("DONE 3", 2, Intent.EXERCISE_DONE, 3, None, id="done-3"),
        pytest.param("done3", 2, Intent.EXERCISE_DONE, 3, None, id="done3-no-space"),
        pytest.param("Done, pain 3", 2, Intent.EXERCISE_DONE, 3, None, id="done-comma-pain"),
        pytest.param("DONE 3/10", 2, Intent.EXERCISE_DONE, 3, None, id="done-out-of-ten"),
        pytest.param("listo 2", 2, Intent.EXERCISE_DONE, 2, None, id="es-listo"),
        pytest.param("HECHO 0", 2, Intent.EXERCISE_DONE, 0, None, id="es-hecho-zero"),
        pytest.param("hecho, dolor 1", 2, Intent.EXERCISE_DONE, 1, None, id="es-hecho-dolor"),
        pytest.param("done", 2, Intent.EXERCISE_DONE, None, None, id="done-without-a-score"),
        pytest.param("DONE 6", None, Intent.EXERCISE_DONE, 6, None, id="six-no-baseline"),
        pytest.param("DONE 3", 2, Intent.EXERCISE_DONE, 3, None, id="one-above-baseline"),
        # EXERCISE_PAIN is gone: the exercise is done, and the pain is an Escalate "pain".
        pytest.param("DONE 7", None, Intent.EXERCISE_DONE, 7, "urgent", id="seven-urgent"),
        pytest.param("done 10", 9, Intent.EXERCISE_DONE, 10, "urgent", id="ten-urgent"),
        pytest.param("listo 8", 8, Intent.EXERCISE_DONE, 8, "urgent", id="high-even-if-usual"),
        pytest.param("DONE 4", 2, Intent.EXERCISE_DONE, 4, "routine", id="two-above-baseline"),
        pytest.param("done 2", 0, Intent.EXERCISE_DONE, 2, "routine", id="two-above-zero"),
    ],
)
def test_done_records_completion_and_escalates_worrying_pain(
    text: str, baseline: int | None, intent: Intent, pain: int | None, severity: str | None
) -> None:
    context = PatientContext(consent_granted=True, opted_out=False, pain_baseline=baseline)
    outcome = interpret(context, [EXERCISE], text)
    assert outcome.intent is intent
    assert outcome.pain == pain
    assert Observe("exercise_done", pain) in outcome.actions
    expected = [(severity, "pain")] if severity else []
    assert [(e.severity, e.reason) for e in escalations(outcome)] == expected
    assert outcome.reply == ("exercise_pain" if severity else "exercise_done")
    assert outcome.answers == EXERCISE


# These listed the exercise options before issue 11. "done" in words now records the
# exercise, and a number over 10 (or a fraction) is never read as a pain score.
@pytest.mark.parametrize("text", ["DONE 11", "done 100", "DONE 3.5", "finished", "completed"])
def test_done_with_an_impossible_score_records_the_exercise_without_a_pain_score(
    text: str,
) -> None:
    outcome = interpret(CONSENTED, [EXERCISE], text)
    assert outcome.intents == (Intent.EXERCISE_DONE,)
    assert outcome.actions == (Observe("exercise_done", None),)
    assert outcome.pain is None
    assert outcome.answers == EXERCISE


@pytest.mark.parametrize("text", ["9", "12", "maybe", "which ones?"])
def test_other_text_lists_the_exercise_options(text: str) -> None:
    outcome = interpret(CONSENTED, [EXERCISE], text)
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.prompt_for_options == "exercise"
    assert outcome.actions == ()


@pytest.mark.parametrize("text", ["SKIP", "skip.", "saltar", "Omitir"])
def test_skip_records_a_missed_exercise_day(text: str) -> None:
    outcome = interpret(CONSENTED, [EXERCISE], text)
    assert outcome.intent is Intent.EXERCISE_SKIP
    assert outcome.actions == (Observe("exercise_skipped"),)
    assert outcome.answers == EXERCISE


@pytest.mark.parametrize(
    ("pain", "baseline", "worrying"),
    [
        pytest.param(6, None, False, id="six-is-not-high"),
        pytest.param(7, None, True, id="seven-is-high"),
        pytest.param(10, None, True, id="ten-is-high"),
        pytest.param(0, None, False, id="zero"),
        pytest.param(3, 2, False, id="baseline-plus-one"),
        pytest.param(4, 2, True, id="baseline-plus-two"),
        pytest.param(6, 5, False, id="six-is-baseline-plus-one"),
        pytest.param(7, 7, True, id="seven-even-at-baseline"),
        pytest.param(1, 3, False, id="below-baseline"),
    ],
)
def test_is_worrying_pain_at_seven_or_two_above_baseline(
    pain: int, baseline: int | None, worrying: bool
) -> None:
    assert (pain_severity(pain, baseline) is not None) is worrying


# --- which question a reply answers -----------------------------------------------------


@pytest.mark.parametrize(
    ("prompts", "text", "intent", "answered"),
    [
        pytest.param(
            [FOOT_CHECK, SESSION], "C", Intent.SESSION_CONFIRM, SESSION, id="c-skips-foot-check"
        ),
        pytest.param([FOOT_CHECK, SESSION], "1", Intent.FOOT_OK, FOOT_CHECK, id="1-answers-newest"),
        # Was SESSION_CONFIRM: a digit never answers a session, so it binds to the foot check.
        pytest.param(
            [SESSION, FOOT_CHECK], "1", Intent.FOOT_OK, FOOT_CHECK, id="1-skips-newest-session"
        ),
        pytest.param(
            [FOLLOWUP, FOOT_CHECK], "1", Intent.FOOT_PROBLEM, FOLLOWUP, id="1-answers-follow-up"
        ),
        pytest.param(
            [FOLLOWUP, FOOT_CHECK], "2", Intent.FOOT_PROBLEM, FOLLOWUP, id="2-answers-follow-up"
        ),
        pytest.param(
            [EXERCISE, SESSION], "R", Intent.SESSION_RESCHEDULE, SESSION, id="r-skips-exercise"
        ),
        pytest.param(
            [SESSION, EXERCISE], "DONE 2", Intent.EXERCISE_DONE, EXERCISE, id="done-skips-session"
        ),
        pytest.param(
            [FOLLOWUP, SESSION], "C", Intent.SESSION_CONFIRM, SESSION, id="c-skips-follow-up"
        ),
    ],
)
def test_a_reply_binds_to_the_newest_question_it_is_valid_for(
    prompts: list[Prompt], text: str, intent: Intent, answered: Prompt
) -> None:
    outcome = interpret(CONSENTED, prompts, text)
    assert outcome.intent is intent
    assert outcome.answers == answered


@pytest.mark.parametrize("text", ["1", "2", "C", "DONE 3"])
def test_a_bare_answer_with_no_open_question_is_anything_else(text: str) -> None:
    outcome = interpret(CONSENTED, [], text)
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.prompt_for_options is None
    assert outcome.answers is None
    assert outcome.needs_review


def test_an_answer_valid_for_no_open_question_lists_the_newest_questions_options() -> None:
    outcome = interpret(CONSENTED, [FOLLOWUP, SESSION], "9")
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.prompt_for_options == "foot_followup"


# --- issue 11: the defects, as failing tests first ----------------------------------------
# Each of these failed before the new interpreter (issue 11's "defects to reproduce").


@pytest.mark.parametrize(
    ("text", "answer", "reason"),
    [
        pytest.param("1", 1, "foot_open_sore", id="1 after a session reminder is an open sore"),
        pytest.param("2", 2, "foot_red_hot_swollen", id="2 after a session reminder is a red foot"),
    ],
)
def test_defect_1_a_follow_up_answer_is_never_a_session_confirmation_or_reschedule(
    text: str, answer: int, reason: str
) -> None:
    # A session reminder sent after the foot follow-up is the most recent question.
    outcome = interpret(CONSENTED, [SESSION, FOLLOWUP], text)
    assert outcome.intents == (Intent.FOOT_PROBLEM,)
    assert outcome.answers == FOLLOWUP
    assert not any(isinstance(action, SetAppointment) for action in outcome.actions)
    assert Observe("foot_followup", answer) in outcome.actions
    assert [(e.severity, e.reason) for e in escalations(outcome)] == [("urgent", reason)]
    assert outcome.replies == ("foot_urgent",)


def test_defect_1_a_foot_check_2_after_a_session_reminder_is_a_foot_problem() -> None:
    outcome = interpret(CONSENTED, [SESSION, FOOT_CHECK], "2")
    assert outcome.intents == (Intent.FOOT_PROBLEM,)
    assert outcome.answers == FOOT_CHECK
    assert not any(isinstance(action, SetAppointment) for action in outcome.actions)
    assert outcome.asks == "foot_followup"
    assert outcome.replies == ("foot_followup",)


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param(
            "No más quería saber a qué hora es mi cita",
            CONSENTED_ES,
            id="no mas meaning just asks the time of a visit",
        ),
        pytest.param("no más ampollas, todo bien", CONSENTED_ES, id="no mas ampollas is good news"),
        pytest.param(
            "no me manden los ejercicios en inglés",
            CONSENTED_ES,
            id="not the exercises in English is a change of language",
        ),
        pytest.param(
            "I don't want these messages to stop",
            CONSENTED,
            id="not wanting the messages to stop is the opposite of stop",
        ),
    ],
)
@pytest.mark.parametrize(
    "prompts", [pytest.param([], id="nothing asked"), pytest.param(EVERY_PROMPT, id="all asked")]
)
def test_defect_2_these_do_not_opt_the_patient_out(
    text: str, context: PatientContext, prompts: list[Prompt]
) -> None:
    outcome = interpret(context, prompts, text)
    assert not opts_out(outcome)
    assert Intent.OPT_OUT not in outcome.intents
    assert Intent.STOP_REQUEST not in outcome.intents
    assert outcome.reply != "opted_out"


def test_defect_2_no_mas_ampollas_todo_bien_answers_the_foot_check_all_ok() -> None:
    outcome = interpret(CONSENTED_ES, [FOOT_CHECK], "no más ampollas, todo bien")
    assert outcome.intents == (Intent.FOOT_OK,)
    assert outcome.actions == (Observe("foot_ok"),)
    assert outcome.severity is None


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("Take me off your list", CONSENTED, id="take me off your list"),
        pytest.param("PARAR", CONSENTED_ES, id="PARAR"),
        pytest.param("ALTO", CONSENTED_ES, id="ALTO"),
        pytest.param("para ya de mandar mensajes", CONSENTED_ES, id="para ya de mandar mensajes"),
        pytest.param("PARAR", CONSENTED, id="PARAR from an English speaker"),
        pytest.param("Alto.", PENDING_ES, id="Alto before consent"),
    ],
)
@pytest.mark.parametrize(
    "prompts", [pytest.param([], id="nothing asked"), pytest.param(EVERY_PROMPT, id="all asked")]
)
def test_defect_3_a_clear_request_to_stop_opts_out_at_once(
    text: str, context: PatientContext, prompts: list[Prompt]
) -> None:
    outcome = interpret(context, prompts, text)
    assert outcome.intents == (Intent.STOP_REQUEST,)
    assert OptOut("free text") in outcome.actions
    assert [(e.severity, e.reason) for e in escalations(outcome)] == [("review", "stop_request")]
    assert outcome.replies == ("opted_out",)
    assert outcome.needs_review


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("my foot is bleeding a lot", OPTED_OUT, id="in English"),
        pytest.param("me sangra mucho el pie", OPTED_OUT_ES, id="in Spanish"),
    ],
)
def test_defect_4_an_opted_out_patients_bleeding_foot_reaches_staff_with_no_text(
    text: str, context: PatientContext
) -> None:
    outcome = interpret(context, EVERY_PROMPT, text)
    assert Intent.IGNORED in outcome.intents
    assert [e.severity for e in escalations(outcome)] == ["urgent"]
    assert all(isinstance(action, Escalate) for action in outcome.actions)
    assert outcome.replies == ()  # the law allows no automated text after an opt-out
    assert outcome.answers is None
    assert outcome.needs_review


def test_defect_4_stop_my_foot_is_bleeding_opts_out_escalates_and_only_confirms() -> None:
    outcome = interpret(CONSENTED, EVERY_PROMPT, "STOP my foot is bleeding")
    assert outcome.intent is Intent.OPT_OUT
    assert OptOut("stop") in outcome.actions
    assert [e.severity for e in escalations(outcome)] == ["urgent"]
    assert outcome.replies == ("opted_out",)  # the one confirmation, nothing more
    assert outcome.answers is None
    assert outcome.needs_review


def test_defect_4_stop_my_foot_is_bleeding_from_an_opted_out_patient_still_escalates() -> None:
    outcome = interpret(OPTED_OUT, EVERY_PROMPT, "STOP my foot is bleeding")
    assert not opts_out(outcome)
    assert [e.severity for e in escalations(outcome)] == ["urgent"]
    assert outcome.replies == ()


# --- answers as people type them ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("ok", CONSENTED, id="en ok confirms"),
        pytest.param("Okay!", CONSENTED, id="en Okay with a bang confirms"),
        pytest.param("👍", CONSENTED, id="en a thumbs up confirms"),
        pytest.param("👍🏽", CONSENTED, id="en a thumbs up with a skin tone confirms"),
        pytest.param("Yes I'll be there", CONSENTED, id="en yes ill be there confirms"),
        pytest.param("yep see you then", CONSENTED, id="en yep see you then confirms"),
        pytest.param("sure", CONSENTED, id="en sure confirms"),
        pytest.param("CONFIRMED", CONSENTED, id="en confirmed in capitals confirms"),
        pytest.param("i will be there thx", CONSENTED, id="en i will be there thx confirms"),
        pytest.param("Sí, ahí estaré", CONSENTED_ES, id="es si ahi estare confirms"),
        pytest.param("claro que sí", CONSENTED_ES, id="es claro que si confirms"),
        pytest.param("ahí nos vemos", CONSENTED_ES, id="es ahi nos vemos confirms"),
        pytest.param("si voy", CONSENTED_ES, id="es si voy confirms"),
        pytest.param("Ok 👍", CONSENTED_ES, id="es ok and a thumbs up confirms"),
    ],
)
def test_agreement_in_words_confirms_a_session(text: str, context: PatientContext) -> None:
    outcome = interpret(context, [SESSION], text)
    assert outcome.intents == (Intent.SESSION_CONFIRM,)
    assert SetAppointment(APPOINTMENT, "confirmed") in outcome.actions
    assert escalations(outcome) == []
    assert outcome.replies == ("session_confirmed",)
    assert outcome.answers == SESSION


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("can we move it to Friday", CONSENTED, id="en move it to friday"),
        pytest.param("I can't make it", CONSENTED, id="en i cant make it"),
        pytest.param("need a different day", CONSENTED, id="en a different day"),
        pytest.param("necesito cambiar la cita", CONSENTED_ES, id="es cambiar la cita"),
        pytest.param("no voy a poder", CONSENTED_ES, id="es no voy a poder"),
        pytest.param("otro día por favor", CONSENTED_ES, id="es otro dia por favor"),
    ],
)
def test_asking_for_another_time_in_words_is_a_reschedule_request(
    text: str, context: PatientContext
) -> None:
    outcome = interpret(context, [SESSION], text)
    assert outcome.intent is Intent.SESSION_RESCHEDULE
    assert SetAppointment(APPOINTMENT, "reschedule_requested") in outcome.actions
    assert [(e.severity, e.reason) for e in escalations(outcome)] == [("routine", "reschedule")]
    assert outcome.reply == "session_reschedule"


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("yes please", PENDING, id="en yes please consents"),
        pytest.param("ok", PENDING, id="en ok consents"),
        pytest.param("Sure!", PENDING, id="en sure consents"),
        pytest.param("👍", PENDING, id="en a thumbs up consents"),
        pytest.param("sign me up", PENDING, id="en sign me up consents"),
        pytest.param("YES PLEASE", PENDING, id="en yes please in capitals consents"),
        pytest.param("acepto", PENDING_ES, id="es acepto consents"),
        pytest.param("Sí, claro", PENDING_ES, id="es si claro consents"),
        pytest.param("de acuerdo", PENDING_ES, id="es de acuerdo consents"),
        pytest.param("síííí", PENDING_ES, id="es a long si consents"),
    ],
)
def test_agreement_in_words_grants_a_pending_consent(text: str, context: PatientContext) -> None:
    outcome = interpret(context, [CONSENT], text)
    assert outcome.intents == (Intent.CONSENT,)
    assert outcome.actions == (GrantConsent(),)
    assert outcome.replies == ("consent_granted",)
    assert outcome.answers == CONSENT


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("no", PENDING, id="en a plain no"),
        pytest.param("no thanks", PENDING, id="en no thanks"),
        pytest.param("no gracias", PENDING_ES, id="es no gracias"),
    ],
)
def test_a_no_to_the_consent_question_never_grants_consent(
    text: str, context: PatientContext
) -> None:
    outcome = interpret(context, [CONSENT], text)
    assert GrantConsent() not in outcome.actions
    assert Intent.CONSENT not in outcome.intents


@pytest.mark.parametrize(
    ("text", "context", "intent", "asks"),
    [
        pytest.param("1 todo bien", CONSENTED_ES, Intent.FOOT_OK, None, id="es 1 todo bien is ok"),
        pytest.param("todo bien", CONSENTED_ES, Intent.FOOT_OK, None, id="es todo bien is ok"),
        pytest.param("sin novedad", CONSENTED_ES, Intent.FOOT_OK, None, id="es sin novedad is ok"),
        pytest.param("all good", CONSENTED, Intent.FOOT_OK, None, id="en all good is ok"),
        pytest.param("fine", CONSENTED, Intent.FOOT_OK, None, id="en fine is ok"),
        pytest.param(
            "everything looks fine", CONSENTED, Intent.FOOT_OK, None, id="en looks fine is ok"
        ),
        pytest.param("1, all good", CONSENTED, Intent.FOOT_OK, None, id="en 1 all good is ok"),
        pytest.param(
            "no blisters today", CONSENTED, Intent.FOOT_OK, None, id="en no blisters is ok"
        ),
        pytest.param("sin heridas", CONSENTED_ES, Intent.FOOT_OK, None, id="es sin heridas is ok"),
        pytest.param(
            "two", CONSENTED, Intent.FOOT_PROBLEM, "foot_followup", id="en two asks what it is"
        ),
        pytest.param(
            "dos", CONSENTED_ES, Intent.FOOT_PROBLEM, "foot_followup", id="es dos asks what it is"
        ),
        pytest.param(
            "found something new",
            CONSENTED,
            Intent.FOOT_PROBLEM,
            "foot_followup",
            id="en something new asks what it is",
        ),
    ],
)
def test_the_foot_check_is_answered_in_words_and_number_words(
    text: str, context: PatientContext, intent: Intent, asks: str | None
) -> None:
    outcome = interpret(context, [FOOT_CHECK], text)
    assert outcome.intent is intent
    assert outcome.answers == FOOT_CHECK
    assert outcome.asks == asks
    if intent is Intent.FOOT_OK:
        assert outcome.actions == (Observe("foot_ok"),)
        assert outcome.replies == ("foot_ok",)


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("2 swollen ankle", CONSENTED, id="en 2 swollen ankle"),
        pytest.param("2, my heel is bleeding", CONSENTED, id="en 2 my heel is bleeding"),
        pytest.param("2 tengo el pie hinchado", CONSENTED_ES, id="es 2 tengo el pie hinchado"),
    ],
)
def test_a_foot_check_2_with_its_words_is_screened_and_needs_no_follow_up(
    text: str, context: PatientContext
) -> None:
    outcome = interpret(context, [FOOT_CHECK], text)
    assert outcome.intent is Intent.FOOT_PROBLEM
    assert outcome.answers == FOOT_CHECK
    assert outcome.asks is None  # they told us what it is
    assert outcome.severity == "urgent"
    assert outcome.reply == "foot_urgent"


@pytest.mark.parametrize(
    ("text", "context", "answer", "severity"),
    [
        pytest.param("one", CONSENTED, 1, "urgent", id="en one is an open sore"),
        pytest.param("uno", CONSENTED_ES, 1, "urgent", id="es uno is an open sore"),
        pytest.param("pus", CONSENTED, 1, "urgent", id="en pus is answer 1"),
        pytest.param("it's bleeding", CONSENTED, 1, "urgent", id="en its bleeding is answer 1"),
        pytest.param("sangra", CONSENTED_ES, 1, "urgent", id="es sangra is answer 1"),
        pytest.param("tiene pus", CONSENTED_ES, 1, "urgent", id="es tiene pus is answer 1"),
        pytest.param("two", CONSENTED, 2, "urgent", id="en two is a red hot foot"),
        pytest.param("swollen", CONSENTED, 2, "urgent", id="en swollen is answer 2"),
        pytest.param("hinchado", CONSENTED_ES, 2, "urgent", id="es hinchado is answer 2"),
        pytest.param("rojo", CONSENTED_ES, 2, "urgent", id="es rojo is answer 2"),
        pytest.param("blister on my heel", CONSENTED, 3, "routine", id="en a blister is answer 3"),
        pytest.param("ampolla", CONSENTED_ES, 3, "routine", id="es ampolla is answer 3"),
        pytest.param("a callus", CONSENTED, 3, "routine", id="en a callus is answer 3"),
        pytest.param("something else", CONSENTED, 4, "review", id="en something else is 4"),
        pytest.param("otra cosa", CONSENTED_ES, 4, "review", id="es otra cosa is 4"),
    ],
)
def test_the_foot_follow_up_is_answered_in_its_own_words(
    text: str, context: PatientContext, answer: int, severity: str
) -> None:
    outcome = interpret(context, [FOLLOWUP], text)
    assert outcome.answers == FOLLOWUP
    assert Observe("foot_followup", answer) in outcome.actions
    assert outcome.severity == severity
    assert len(escalations(outcome)) == 1  # the answer carries the sign: one escalation


@pytest.mark.parametrize(
    ("text", "context", "intent", "pain", "severity"),
    [
        pytest.param(
            "Done, pain about 5/10", CONSENTED, Intent.EXERCISE_DONE, 5, None,
            id="en done pain about 5 of 10",
        ),
        pytest.param(
            "it's a 6 today", CONSENTED, Intent.EXERCISE_DONE, 6, None, id="en its a 6 today"
        ),
        pytest.param(
            "did them, pain: seven", CONSENTED, Intent.EXERCISE_DONE, 7, "urgent",
            id="en pain seven in words is urgent",
        ),
        pytest.param(
            "finished 8 out of 10", CONSENTED, Intent.EXERCISE_DONE, 8, "urgent",
            id="en 8 out of 10 is urgent",
        ),
        pytest.param(
            "✅ 3", CONSENTED, Intent.EXERCISE_DONE, 3, None, id="en a check mark and a 3"
        ),
        pytest.param(
            "skipped today, too tired", CONSENTED, Intent.EXERCISE_SKIP, None, None,
            id="en skipped today too tired",
        ),
        pytest.param(
            "not today", CONSENTED, Intent.EXERCISE_SKIP, None, None, id="en not today skips"
        ),
        pytest.param(
            "listo, dolor de 3", CONSENTED_ES, Intent.EXERCISE_DONE, 3, None,
            id="es listo dolor de 3",
        ),
        pytest.param(
            "hice los ejercicios, dolor 2", CONSENTED_ES, Intent.EXERCISE_DONE, 2, None,
            id="es hice los ejercicios dolor 2",
        ),
        pytest.param(
            "ya los hice, dolor de ocho", CONSENTED_ES, Intent.EXERCISE_DONE, 8, "urgent",
            id="es dolor de ocho in words is urgent",
        ),
        pytest.param(
            "dolor 3", CONSENTED_ES, Intent.EXERCISE_DONE, 3, None,
            id="es a pain score alone records the exercise done",
        ),
        pytest.param(
            "no pude", CONSENTED_ES, Intent.EXERCISE_SKIP, None, None, id="es no pude skips"
        ),
        pytest.param(
            "no pude, dolor de 3", CONSENTED_ES, Intent.EXERCISE_SKIP, 3, None,
            id="es no pude with its pain noted",
        ),
        pytest.param(
            "hoy no, muy cansada", CONSENTED_ES, Intent.EXERCISE_SKIP, None, None,
            id="es hoy no muy cansada skips",
        ),
    ],
)  # fmt: skip
def test_exercise_answers_in_words_record_done_or_skipped_and_any_pain(
    text: str, context: PatientContext, intent: Intent, pain: int | None, severity: str | None
) -> None:
    outcome = interpret(context, [EXERCISE], text)
    assert outcome.intent is intent
    assert outcome.pain == pain
    kind = "exercise_done" if intent is Intent.EXERCISE_DONE else "exercise_skipped"
    assert Observe(kind, pain) in outcome.actions
    assert outcome.severity == severity
    assert outcome.answers == EXERCISE


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("START again please", OPTED_OUT, id="en start again please"),
        pytest.param("I want the texts again", OPTED_OUT, id="en i want the texts again"),
        pytest.param("quiero volver", OPTED_OUT_ES, id="es quiero volver"),
        pytest.param("mándenme los mensajes otra vez", OPTED_OUT_ES, id="es mandenme otra vez"),
    ],
)
def test_an_opted_out_patient_rejoins_in_words(text: str, context: PatientContext) -> None:
    outcome = interpret(context, [SESSION], text)
    assert outcome.intents == (Intent.OPT_IN,)
    assert [type(action) for action in outcome.actions] == [OptIn]
    assert outcome.replies == ("opted_in",)


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("thank you!", CONSENTED, id="en thank you"),
        pytest.param("thx 🙏", CONSENTED, id="en thx and praying hands"),
        pytest.param("muchas gracias", CONSENTED_ES, id="es muchas gracias"),
        pytest.param("Dios le bendiga", CONSENTED_ES, id="es dios le bendiga"),
    ],
)
def test_a_thank_you_with_nothing_open_needs_no_answer_and_no_person(
    text: str, context: PatientContext
) -> None:
    outcome = interpret(context, [], text)
    assert outcome.intents == (Intent.THANKS,)
    assert outcome.actions == ()
    assert outcome.replies == ()
    assert not outcome.needs_review


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param('Liked "Reminder: your session. Reply C"', CONSENTED, id="en an iphone like"),
        pytest.param('Le gustó "Recordatorio: su sesión"', CONSENTED_ES, id="es an iphone like"),
        pytest.param("Loved “Reminder: your session”", CONSENTED, id="en curly quotes"),
    ],
)
def test_a_like_of_a_session_reminder_confirms_it_and_the_quoted_text_is_not_read(
    text: str, context: PatientContext
) -> None:
    # The quote is our own text ("Reply C to confirm or R to reschedule"): only the
    # reaction is the patient's, and a like is an acknowledgement.
    outcome = interpret(context, [SESSION], text)
    assert outcome.intents == (Intent.SESSION_CONFIRM,)
    assert outcome.reply == "session_confirmed"


@pytest.mark.parametrize(
    ("text", "prompts"),
    [
        pytest.param('Disliked "Reminder: your session. Reply C or R"', [SESSION], id="a dislike"),
        pytest.param('Liked "See you then"', [], id="a like of a text that asked nothing"),
        pytest.param('Questioned "Reply 1 if all OK"', [FOOT_CHECK], id="a question mark"),
    ],
)
def test_a_phones_other_reactions_are_stored_for_a_person_and_not_answered(
    text: str, prompts: list[Prompt]
) -> None:
    outcome = interpret(CONSENTED, prompts, text)
    assert outcome.intents == (Intent.REACTION,)
    assert outcome.actions == ()
    assert outcome.replies == ()
    assert outcome.needs_review


def test_a_like_is_not_consent() -> None:
    # Consent to texts is given in words; a tap on the consent text is not it.
    outcome = interpret(PENDING, [CONSENT], 'Liked "Reply YES to join"')
    assert Intent.CONSENT not in outcome.intents
    assert not any(isinstance(a, GrantConsent) for a in outcome.actions)


@pytest.mark.parametrize(
    ("text", "context", "prompt"),
    [
        pytest.param("hola buenos días", CONSENTED_ES, SESSION, id="es a greeting to a reminder"),
        pytest.param("good morning", CONSENTED, FOOT_CHECK, id="en a greeting to a foot check"),
    ],
)
def test_a_greeting_answers_no_question(text: str, context: PatientContext, prompt: Prompt) -> None:
    outcome = interpret(context, [prompt], text)
    assert outcome.answers is None
    assert outcome.actions == ()


# --- one reply, several meanings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "context"),
    [
        pytest.param("C but my foot is bleeding", CONSENTED, id="en C but my foot is bleeding"),
        pytest.param("c, also my heel is bleeding", CONSENTED, id="en c also my heel bleeds"),
        pytest.param("C pero me sangra el pie", CONSENTED_ES, id="es C pero me sangra el pie"),
        pytest.param(
            "Sí ahí estaré, tengo una herida en el talón",
            CONSENTED_ES,
            id="es ahi estare and a wound on the heel",
        ),
    ],
)
def test_a_confirmation_with_a_danger_sign_confirms_and_escalates_urgent_text_first(
    text: str, context: PatientContext
) -> None:
    outcome = interpret(context, [SESSION], text)
    assert outcome.intents[0] is Intent.SESSION_CONFIRM
    assert Intent.SYMPTOM in outcome.intents
    assert SetAppointment(APPOINTMENT, "confirmed") in outcome.actions
    assert [e.severity for e in escalations(outcome)] == ["urgent"]
    assert outcome.replies == ("foot_urgent", "session_confirmed")  # most important first
    assert outcome.answers == SESSION
    assert outcome.needs_review


@pytest.mark.parametrize(
    ("text", "context", "pain"),
    [
        pytest.param("done 3 but I fell yesterday", CONSENTED, 3, id="en done 3 but i fell"),
        pytest.param("listo 2 pero me caí ayer", CONSENTED_ES, 2, id="es listo 2 pero me cai"),
    ],
)
def test_done_with_a_fall_records_the_exercise_and_escalates_the_fall_routine(
    text: str, context: PatientContext, pain: int
) -> None:
    outcome = interpret(context, [EXERCISE], text)
    assert outcome.intents == (Intent.EXERCISE_DONE, Intent.SYMPTOM)
    assert Observe("exercise_done", pain) in outcome.actions
    assert outcome.pain == pain
    assert [(e.severity, e.reason) for e in escalations(outcome)] == [("routine", "fall")]
    assert outcome.reply == "fall"
    assert outcome.answers == EXERCISE


def test_a_skip_with_a_danger_sign_records_the_skip_and_escalates() -> None:
    outcome = interpret(CONSENTED, [EXERCISE], "skipped, my foot is bleeding")
    assert outcome.intents == (Intent.EXERCISE_SKIP, Intent.SYMPTOM)
    assert Observe("exercise_skipped", None) in outcome.actions
    assert outcome.severity == "urgent"
    assert outcome.reply == "foot_urgent"


def test_one_reply_may_answer_two_open_questions() -> None:
    outcome = interpret(CONSENTED, [SESSION, EXERCISE], "C and done 2")
    assert outcome.intents == (Intent.SESSION_CONFIRM, Intent.EXERCISE_DONE)
    assert outcome.answers == SESSION
    assert outcome.also_answers == (EXERCISE,)
    assert SetAppointment(APPOINTMENT, "confirmed") in outcome.actions
    assert Observe("exercise_done", 2) in outcome.actions
    assert outcome.replies == ("session_confirmed", "exercise_done")


def test_rejoining_with_a_danger_sign_opts_in_and_escalates_safety_text_first() -> None:
    outcome = interpret(OPTED_OUT, [], "START again please, my foot is bleeding")
    assert outcome.intents[0] is Intent.OPT_IN
    assert [type(a) for a in outcome.actions if not isinstance(a, Escalate)] == [OptIn]
    assert outcome.severity == "urgent"
    assert outcome.replies == ("foot_urgent", "opted_in")


@pytest.mark.parametrize(
    ("text", "context", "severity", "first_reply"),
    [
        pytest.param(
            "2 and I have a fever", CONSENTED, Severity.EMERGENCY, "emergency",
            id="en a red foot answer with a fever gets the emergency text first",
        ),
        pytest.param(
            "2 y tengo fiebre", CONSENTED_ES, Severity.EMERGENCY, "emergency",
            id="es a red foot answer with a fever gets the emergency text first",
        ),
        pytest.param(
            "1, also a blister on my other foot", CONSENTED, Severity.URGENT, "foot_urgent",
            id="en an open sore answer with a blister gets the urgent text first",
        ),
        pytest.param(
            "1 and I feel dizzy", CONSENTED, Severity.URGENT, "foot_urgent",
            id="en an open sore answer with dizziness gets the urgent text first",
        ),
    ],
)  # fmt: skip
def test_a_follow_up_answer_with_another_sign_gets_the_most_pressing_text_first(
    text: str, context: PatientContext, severity: Severity, first_reply: str
) -> None:
    outcome = interpret(context, [FOLLOWUP], text)
    assert outcome.severity == severity
    assert outcome.reply == first_reply


# --- properties -------------------------------------------------------------------------

prompts_strategy = st.lists(
    st.builds(
        Prompt,
        id=st.integers(1, 1000),
        kind=st.sampled_from(["consent", "session", "foot_check", "foot_followup", "exercise"]),
        ref=st.none() | st.integers(1, 1000),
    ),
    max_size=4,
)
replies_strategy = st.text() | st.sampled_from(
    ["1", "2", "4", "C", "R", "YES", "HELP", "DONE 8", "SKIP", "stop texting me", "no más"]
)
LONGEST_STOP_WORD = max(len(word) for word in STOP_WORDS)
padding = st.text(alphabet=" \t\n.!?¡¿,;:-\"'()…", max_size=4)


@given(
    consent_granted=st.booleans(),
    baseline=st.none() | st.integers(0, 10),
    prompts=prompts_strategy,
    text=replies_strategy,
)
def test_nothing_but_the_opt_in_or_opt_out_confirmation_answers_an_opted_out_patient(
    consent_granted: bool, baseline: int | None, prompts: list[Prompt], text: str
) -> None:
    context = PatientContext(consent_granted, opted_out=True, pain_baseline=baseline)
    outcome = interpret(context, prompts, text)
    if outcome.intent not in (Intent.OPT_OUT, Intent.OPT_IN):
        assert outcome.replies == ()
        assert outcome.answers is None
        # Issue 11: a danger sign from an opted-out patient still reaches staff ("DONE7" is
        # pain 7), so escalations are the one action allowed, and only for what was found.
        assert all(isinstance(action, Escalate) for action in outcome.actions)
        if outcome.actions:
            assert outcome.screen.findings or outcome.screen.symptoms


@given(
    word=st.sampled_from(sorted(STOP_WORDS)),
    upper=st.lists(st.booleans(), min_size=LONGEST_STOP_WORD, max_size=LONGEST_STOP_WORD),
    before=padding,
    after=padding,
    consent_granted=st.booleans(),
    opted_out=st.booleans(),
    prompts=prompts_strategy,
)
def test_a_stop_word_in_any_case_and_padding_opts_out_whatever_is_open(
    word: str,
    upper: list[bool],
    before: str,
    after: str,
    consent_granted: bool,
    opted_out: bool,
    prompts: list[Prompt],
) -> None:
    cased = "".join(ch.upper() if flip else ch for ch, flip in zip(word, upper, strict=False))
    text = before + cased + after
    assert normalise(text) in STOP_WORDS
    outcome = interpret(PatientContext(consent_granted, opted_out), prompts, text)
    if opted_out:  # one confirmation, nothing more
        assert (outcome.intent, outcome.reply) == (Intent.IGNORED, None)
    else:
        assert outcome.intent is Intent.OPT_OUT
        assert outcome.actions == (OptOut(word),)


@given(
    consent_granted=st.booleans(),
    opted_out=st.booleans(),
    prompts=prompts_strategy,
    text=replies_strategy,
)
def test_interpret_answers_every_text_and_binds_only_to_an_open_question(
    consent_granted: bool, opted_out: bool, prompts: list[Prompt], text: str
) -> None:
    outcome = interpret(PatientContext(consent_granted, opted_out), prompts, text)
    assert outcome.answers is None or outcome.answers in prompts


@pytest.mark.parametrize(("before", "escalates"), [(0, False), (1, False), (2, True), (5, True)])
def test_the_third_exercise_day_skipped_in_a_row_is_a_routine_escalation(
    before: int, escalates: bool
) -> None:
    context = PatientContext(consent_granted=True, opted_out=False, skipped_in_a_row=before)
    outcome = interpret(context, [EXERCISE], "SKIP")

    assert outcome.intent == Intent.EXERCISE_SKIP and outcome.reply == "exercise_skipped"
    expected = [("routine", "exercises_skipped")] if escalates else []
    assert [(e.severity, e.reason) for e in escalations(outcome)] == expected


def test_a_reply_of_menu_answers_only_answers_each_question() -> None:
    # "C and 2": the C is the session's, the 2 the foot check's, whichever came last.
    outcome = interpret(CONSENTED, [FOOT_CHECK, SESSION], "C and 2")
    assert outcome.intents[:2] == (Intent.FOOT_PROBLEM, Intent.SESSION_CONFIRM)
    assert outcome.answers == FOOT_CHECK and outcome.also_answers == (SESSION,)
    assert outcome.reply == "foot_followup"


def test_a_bare_number_answers_only_the_latest_numbered_question() -> None:
    outcome = interpret(CONSENTED, [FOOT_CHECK, FOLLOWUP], "1")
    assert outcome.intents == (Intent.FOOT_OK,) and outcome.also_answers == ()
    assert escalations(outcome) == []


@pytest.mark.parametrize("text", ["ok", "Okay", "👍"])
def test_an_ok_with_nothing_asked_is_an_acknowledgement_not_a_question(text: str) -> None:
    outcome = interpret(CONSENTED, [], text)
    assert outcome.intents == (Intent.THANKS,)
    assert outcome.replies == () and not outcome.needs_review


def test_a_wound_that_stopped_bleeding_is_still_a_wound() -> None:
    outcome = interpret(CONSENTED, [], "the bleeding finally stopped after I held pressure on it")
    assert [e.severity for e in escalations(outcome)] == ["urgent"]


def test_the_skip_keyword_wins_over_words_that_sound_done() -> None:
    outcome = interpret(CONSENTED, [EXERCISE], "I fell asleep before I did them, SKIP")
    assert outcome.intents == (Intent.EXERCISE_SKIP,)
    assert escalations(outcome) == []  # asleep is not a fall, and not numb feet


@pytest.mark.parametrize(
    ("text", "prompts", "severity"),
    [
        pytest.param(
            "done. seven today ugh",
            [EXERCISE],
            "urgent",
            id="a pain score opening the next sentence",
        ),
        pytest.param("my big toe is kinda purplish today", [], "urgent", id="purplish is purple"),
        pytest.param("the wound is not closed", [], "urgent", id="not closed is still open"),
        pytest.param(
            "the sore is still not completely closed", [], "urgent", id="still not closed"
        ),
        pytest.param(
            "the wound nurse said the ulcer is completely closed", [], None, id="closed is healed"
        ),
    ],
)
def test_what_the_fourth_corpus_showed(
    text: str, prompts: list[Prompt], severity: str | None
) -> None:
    outcome = interpret(CONSENTED, prompts, text)
    assert (outcome.severity and str(outcome.severity)) == severity
