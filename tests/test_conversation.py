"""What a reply means: DOMAIN.md's message table, one row per test case."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.conversation import (
    STOP_WORDS,
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
    interpret,
    is_worrying_pain,
    normalise,
)

CONSENTED = PatientContext(consent_granted=True, opted_out=False)
PENDING = PatientContext(consent_granted=False, opted_out=False)
OPTED_OUT = PatientContext(consent_granted=True, opted_out=True)

APPOINTMENT = 501
CONSENT = Prompt(10, "consent")
SESSION = Prompt(11, "session", ref=APPOINTMENT)
FOOT_CHECK = Prompt(12, "foot_check")
FOLLOWUP = Prompt(13, "foot_followup")
EXERCISE = Prompt(14, "exercise")
EVERY_PROMPT = [FOLLOWUP, FOOT_CHECK, EXERCISE, SESSION]


def escalations(outcome: Outcome) -> list[Escalate]:
    return [action for action in outcome.actions if isinstance(action, Escalate)]


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
        pytest.param("cancel my appointment", id="cancel-my-appointment-goes-to-staff"),
        pytest.param("the pain came to an end", id="an-end"),
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
        pytest.param("STOP STOP", id="en-stop-stop"),
        pytest.param("stop all", id="en-stop-all-with-a-space"),
        pytest.param("Opt-Out", id="en-opt-out-hyphenated"),
        pytest.param("no más mensajes", id="es-no-mas-mensajes"),
        pytest.param("No más", id="es-no-mas-alone"),
        pytest.param("dejen de enviarme mensajes", id="es-dejen-de-enviarme"),
        pytest.param("deja de escribirme", id="es-deja-de-escribirme"),
        pytest.param("No me envíen más mensajes", id="es-no-me-envien"),
        pytest.param("ya no quiero mensajes", id="es-ya-no-quiero-mensajes"),
        pytest.param("No quiero recibir más mensajes", id="es-no-quiero-recibir"),
        # Punctuation is gone once normalised, so "No, send me the time" reads as "don't
        # send me": a false stop costs a staff look and a START; a missed one ignores a no.
        pytest.param("No, me envíen la hora", id="ambiguous-prefers-safety-no-me-envien"),
        pytest.param("I don't text much", id="ambiguous-prefers-safety-dont-text"),
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


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("no pain today", id="no-pain-today"),
        pytest.param("No", id="a-bare-no"),
        pytest.param("no new sores", id="no-new-sores"),
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
    assert outcome == Outcome(Intent.OPT_IN, (OptIn(keyword),), reply="opted_in")


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
    assert outcome == Outcome(Intent.HELP, reply="help")


@pytest.mark.parametrize("text", ["YES", "yes", "Y", "y", "Sí", "si", "SI.", "s", "Yes!"])
def test_yes_grants_a_pending_consent(text: str) -> None:
    outcome = interpret(PENDING, [CONSENT], text)
    assert outcome.intent is Intent.CONSENT
    assert outcome.actions == (GrantConsent(),)
    assert outcome.reply == "consent_granted"
    assert outcome.answers == CONSENT


@pytest.mark.parametrize("text", ["C", "1", "ok", "yes please", "sure", "DONE 3", "no", "hola"])
def test_anything_but_yes_while_consent_is_pending_lists_the_consent_options(text: str) -> None:
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


@pytest.mark.parametrize("text", ["C", "c", "1", "confirm", "Confirm.", "confirmar", "Confirmo"])
def test_c_or_1_confirms_the_session(text: str) -> None:
    outcome = interpret(CONSENTED, [SESSION], text)
    assert outcome.intent is Intent.SESSION_CONFIRM
    assert SetAppointment(APPOINTMENT, "confirmed") in outcome.actions
    assert escalations(outcome) == []
    assert outcome.reply == "session_confirmed"
    assert outcome.answers == SESSION


@pytest.mark.parametrize("text", ["R", "r", "2", "reschedule", "Reprogramar", "cambiar"])
def test_r_or_2_asks_staff_to_reschedule_the_session(text: str) -> None:
    outcome = interpret(CONSENTED, [SESSION], text)
    assert outcome.intent is Intent.SESSION_RESCHEDULE
    assert SetAppointment(APPOINTMENT, "reschedule_requested") in outcome.actions
    assert [e.severity for e in escalations(outcome)] == ["routine"]
    assert outcome.reply == "session_reschedule"
    assert outcome.answers == SESSION


@pytest.mark.parametrize("text", ["CANCEL", "cancel", "Cancel."])
def test_cancel_is_an_opt_out_never_a_session_answer(text: str) -> None:
    outcome = interpret(CONSENTED, [SESSION], text)
    assert outcome.intent is Intent.OPT_OUT
    assert not any(isinstance(action, SetAppointment) for action in outcome.actions)
    assert outcome.answers is None


def test_spanish_cancelar_is_not_a_carrier_keyword_so_staff_see_it() -> None:
    outcome = interpret(CONSENTED, [SESSION], "cancelar")
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.prompt_for_options == "session"
    assert outcome.needs_review


def test_a_session_question_about_no_appointment_binds_nothing() -> None:
    outcome = interpret(CONSENTED, [Prompt(11, "session")], "C")
    assert outcome.intent is Intent.UNKNOWN


# --- foot checks ------------------------------------------------------------------------


def test_1_to_the_foot_check_records_all_ok() -> None:
    outcome = interpret(CONSENTED, [FOOT_CHECK], "1")
    assert outcome == Outcome(Intent.FOOT_OK, (Observe("foot_ok"),), "foot_ok", answers=FOOT_CHECK)


def test_2_to_the_foot_check_asks_the_follow_up_question() -> None:
    outcome = interpret(CONSENTED, [FOOT_CHECK], "2")
    assert outcome.intent is Intent.FOOT_PROBLEM
    assert outcome.asks == "foot_followup"
    assert outcome.reply == "foot_followup"
    assert outcome.answers == FOOT_CHECK
    # Staff hear of it at once, in case the follow-up is never answered.
    assert [(e.severity, e.reason) for e in escalations(outcome)] == [("review", "foot_problem")]


@pytest.mark.parametrize("text", ["3", "0", "12", "ok", "fine"])
def test_other_answers_to_the_foot_check_list_its_options(text: str) -> None:
    outcome = interpret(CONSENTED, [FOOT_CHECK], text)
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.prompt_for_options == "foot_check"
    assert outcome.needs_review


@pytest.mark.parametrize(
    ("text", "intent", "severity", "reply"),
    [
        pytest.param("1", Intent.FOOT_URGENT, "urgent", "foot_urgent", id="open-sore-is-urgent"),
        pytest.param("2", Intent.FOOT_URGENT, "urgent", "foot_urgent", id="red-hot-is-urgent"),
        pytest.param(" 2.", Intent.FOOT_URGENT, "urgent", "foot_urgent", id="padded-2"),
        pytest.param("3", Intent.FOOT_ROUTINE, "routine", "foot_routine", id="blister-routine"),
        pytest.param("4", Intent.FOOT_OTHER, "review", "foot_other", id="other-is-reviewed"),
    ],
)
def test_it_escalates_a_foot_follow_up_by_what_the_patient_saw(
    text: str, intent: Intent, severity: str, reply: str
) -> None:
    outcome = interpret(CONSENTED, [FOLLOWUP], text)
    assert outcome.intent is intent
    assert [e.severity for e in escalations(outcome)] == [severity]
    assert outcome.reply == reply
    assert outcome.answers == FOLLOWUP


@pytest.mark.parametrize("text", ["5", "0", "sore"])
def test_other_answers_to_the_foot_follow_up_list_its_options(text: str) -> None:
    outcome = interpret(CONSENTED, [FOLLOWUP], text)
    assert outcome.intent is Intent.UNKNOWN
    assert outcome.prompt_for_options == "foot_followup"
    assert escalations(outcome) == []


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
        pytest.param("DONE 7", None, Intent.EXERCISE_PAIN, 7, "urgent", id="seven-urgent"),
        pytest.param("done 10", 9, Intent.EXERCISE_PAIN, 10, "urgent", id="ten-urgent"),
        pytest.param("listo 8", 8, Intent.EXERCISE_PAIN, 8, "urgent", id="high-even-if-usual"),
        pytest.param("DONE 4", 2, Intent.EXERCISE_PAIN, 4, "routine", id="two-above-baseline"),
        pytest.param("done 2", 0, Intent.EXERCISE_PAIN, 2, "routine", id="two-above-zero"),
    ],
)
def test_done_records_completion_and_escalates_worrying_pain(
    text: str, baseline: int | None, intent: Intent, pain: int | None, severity: str | None
) -> None:
    context = PatientContext(consent_granted=True, opted_out=False, pain_baseline=baseline)
    outcome = interpret(context, [EXERCISE], text)
    assert outcome.intent is intent
    assert Observe("exercise_done", pain) in outcome.actions
    assert [e.severity for e in escalations(outcome)] == ([severity] if severity else [])
    assert outcome.reply == ("exercise_pain" if severity else "exercise_done")
    assert outcome.answers == EXERCISE


@pytest.mark.parametrize("text", ["DONE 11", "done 100", "DONE 3.5", "finished", "dolor 3"])
def test_an_impossible_score_or_other_text_lists_the_exercise_options(text: str) -> None:
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
    assert is_worrying_pain(pain, baseline) is worrying


# --- which question a reply answers -----------------------------------------------------


@pytest.mark.parametrize(
    ("prompts", "text", "intent", "answered"),
    [
        pytest.param(
            [FOOT_CHECK, SESSION], "C", Intent.SESSION_CONFIRM, SESSION, id="c-skips-foot-check"
        ),
        pytest.param([FOOT_CHECK, SESSION], "1", Intent.FOOT_OK, FOOT_CHECK, id="1-answers-newest"),
        pytest.param(
            [SESSION, FOOT_CHECK], "1", Intent.SESSION_CONFIRM, SESSION, id="1-newest-session"
        ),
        pytest.param(
            [FOLLOWUP, FOOT_CHECK], "1", Intent.FOOT_URGENT, FOLLOWUP, id="1-answers-follow-up"
        ),
        pytest.param(
            [FOLLOWUP, FOOT_CHECK], "2", Intent.FOOT_URGENT, FOLLOWUP, id="2-answers-follow-up"
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
        assert outcome.reply is None
        assert outcome.actions == ()


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
