"""The safety screen: every reply is read for danger signs first, in the patient's own words.

Cases are written from DOMAIN.md's "Danger signs in the patient's own words" (tiers,
negations, false friends), not from the rules or the corpus: each row is what a patient
might text and what must happen. The screen is tried through `interpret`, because what
matters is the escalation staff get and the text the patient gets; a few tests read
`outreach.rules.replies.screen` directly for what it reports to staff (the words) and for pain
scores.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.rules.replies.conversation import default_rules, interpret
from outreach.rules.replies.outcome import Escalate, Intent, OptOut, Outcome, PatientContext, Prompt
from outreach.rules.replies.pain import pain_score
from outreach.rules.replies.screen import screen
from outreach.rules.vocabulary import Severity

EMERGENCY, URGENT, ROUTINE, REVIEW = (
    Severity.EMERGENCY,
    Severity.URGENT,
    Severity.ROUTINE,
    Severity.REVIEW,
)
EN = PatientContext(consent_granted=True, opted_out=False, language="en")
ES = PatientContext(consent_granted=True, opted_out=False, language="es")
CONTEXTS = {"en": EN, "es": ES}

SESSION = Prompt(11, "session", ref=501)
FOOT_CHECK = Prompt(12, "foot_check")
FOLLOWUP = Prompt(13, "foot_followup")
EXERCISE = Prompt(14, "exercise")
CONSENT = Prompt(10, "consent")

# The text a tier gets: call the emergency number; keep weight off (urgent); the care text
# (routine); a person will read it (review). Pain and falls have texts of their own.
TEXT_FOR = {EMERGENCY: "emergency", URGENT: "foot_urgent", ROUTINE: "foot_routine"}


def escalations(outcome: Outcome) -> list[Escalate]:
    return [action for action in outcome.actions if isinstance(action, Escalate)]


# --- danger tiers, English ------------------------------------------------------------------

EN_TIERS = [
    # emergency: call the emergency number now
    pytest.param("my chest hurts", EMERGENCY, "emergency", id="my chest hurts is an emergency"),
    pytest.param("CHEST PAIN!!", EMERGENCY, "emergency", id="chest pain in capitals is one"),
    pytest.param(
        "Chest feels tight and im sweating", EMERGENCY, "emergency", id="a tight chest is one"
    ),
    pytest.param(
        "having chest pains since this morning", EMERGENCY, "emergency", id="chest pains are one"
    ),
    pytest.param(
        "I feel pressure in my chest", EMERGENCY, "emergency", id="pressure in the chest is one"
    ),
    pytest.param("I cant breathe well", EMERGENCY, "emergency", id="cannot breathe is one"),
    pytest.param("i cant breath", EMERGENCY, "emergency", id="cant breath misspelt is one"),
    pytest.param(
        "short of breath walking to the mailbox", EMERGENCY, "emergency", id="short of breath"
    ),
    pytest.param(
        "fell and hit my head on the table", EMERGENCY, "emergency", id="a fall with a head strike"
    ),
    pytest.param(
        "my husband fell and hit his head", EMERGENCY, "emergency", id="a carer reports a head hit"
    ),
    pytest.param(
        "i fell down period i hit my head",
        EMERGENCY,
        "emergency",
        id="voice to text fall with a head strike",
    ),
    pytest.param(
        "I fell and can't get up", EMERGENCY, "emergency", id="fell and cannot get up is one"
    ),
    pytest.param(
        "Fell last nite couldnt get up til my son came",
        EMERGENCY,
        "emergency",
        id="could not get up after a fall",
    ),
    pytest.param(
        "been on the floor since last night", EMERGENCY, "emergency", id="still on the floor"
    ),
    pytest.param("I passed out this morning", EMERGENCY, "emergency", id="passing out is one"),
    pytest.param(
        "I have a fever and my foot is red and swollen",
        EMERGENCY,
        "emergency",
        id="a fever with a red swollen foot is one",
    ),
    pytest.param(
        "I have chills and my foot is swollen",
        EMERGENCY,
        "emergency",
        id="chills with a swollen foot is one",
    ),
    pytest.param(
        "the redness is spreading up my leg", EMERGENCY, "emergency", id="spreading redness"
    ),
    pytest.param(
        "My leg has a red streak going up", EMERGENCY, "emergency", id="a red streak up the leg"
    ),
    pytest.param(
        "my foot is cold and pale and it hurts",
        EMERGENCY,
        "emergency",
        id="a cold pale painful foot is one",
    ),
    # urgent: same day, keep weight off
    pytest.param(
        "there's an open sore on the bottom of my foot",
        URGENT,
        "foot_urgent",
        id="an open sore is urgent",
    ),
    pytest.param("my heal has a soar", URGENT, "foot_urgent", id="heal has a soar is urgent"),
    pytest.param("woond on my foot", URGENT, "foot_urgent", id="a misspelt wound is urgent"),
    pytest.param(
        "theres a hole in the bottom of my foot", URGENT, "foot_urgent", id="a hole is urgent"
    ),
    pytest.param(
        "foot is bleeding through the sock", URGENT, "foot_urgent", id="bleeding is urgent"
    ),
    pytest.param(
        "BLEEDING FROM MY HEEL!!!", URGENT, "foot_urgent", id="bleeding in capitals is urgent"
    ),
    pytest.param("my big toe is bleedin", URGENT, "foot_urgent", id="bleedin is urgent"),
    pytest.param(
        "toe won't stop bleeding", URGENT, "foot_urgent", id="wont stop bleeding is urgent"
    ),
    pytest.param("🩸🦶", URGENT, "foot_urgent", id="a blood drop and a foot emoji is urgent"),
    pytest.param(
        "sock was bloody this morning", URGENT, "foot_urgent", id="a bloody sock is urgent"
    ),
    pytest.param(
        "there is puss coming out of my big toe", URGENT, "foot_urgent", id="puss is urgent"
    ),
    pytest.param(
        "something yellow oozing from my heel", URGENT, "foot_urgent", id="oozing is urgent"
    ),
    pytest.param(
        "my right foot is red and hot", URGENT, "foot_urgent", id="a red hot foot is urgent"
    ),
    pytest.param("my foot is 🔥", URGENT, "foot_urgent", id="a foot on fire emoji is urgent"),
    pytest.param(
        "left ankle very swollen since yesterday", URGENT, "foot_urgent", id="swollen is urgent"
    ),
    pytest.param("my foot is all swolen 😢", URGENT, "foot_urgent", id="swolen is urgent"),
    pytest.param("foot sweling up", URGENT, "foot_urgent", id="sweling is urgent"),
    pytest.param("big toe turned black", URGENT, "foot_urgent", id="a black toe is urgent"),
    pytest.param("my toe nail turned blue", URGENT, "foot_urgent", id="a blue toenail is urgent"),
    pytest.param("my toe is purple", URGENT, "foot_urgent", id="a purple toe is urgent"),
    pytest.param(
        "theres a bad smell from my foot", URGENT, "foot_urgent", id="a bad smell is urgent"
    ),
    pytest.param("burned my foot on the heater", URGENT, "foot_urgent", id="a burn is urgent"),
    pytest.param(
        "stepped on a nail yesterday", URGENT, "foot_urgent", id="stepping on a nail is urgent"
    ),
    pytest.param("pain is 8/10", URGENT, "exercise_pain", id="pain 8 of 10 is urgent"),
    pytest.param("pain about a 9 today", URGENT, "exercise_pain", id="pain about a 9 is urgent"),
    pytest.param("pain 9 out of 10", URGENT, "exercise_pain", id="9 out of 10 is urgent"),
    pytest.param("the pain is unbearable", URGENT, "exercise_pain", id="unbearable pain is urgent"),
    # routine: next working day, the care text
    pytest.param(
        "got a blister on my heel from the new shoes",
        ROUTINE,
        "foot_routine",
        id="a blister is routine",
    ),
    pytest.param(
        "got a blistter on my toe", ROUTINE, "foot_routine", id="a misspelt blister is routine"
    ),
    pytest.param("small cut on my toe", ROUTINE, "foot_routine", id="a small cut is routine"),
    pytest.param(
        "callus on the ball of my foot", ROUTINE, "foot_routine", id="a callus is routine"
    ),
    pytest.param(
        "I fell in the kitchen but im ok", ROUTINE, "fall", id="a fall without injury is routine"
    ),
    pytest.param(
        "tripped on the rug this morning", ROUTINE, "fall", id="tripping on a rug is routine"
    ),
    # review: about the body or a symptom, not placed: a person reads it
    pytest.param("my feet feel numb today", REVIEW, "review", id="numb feet are for review"),
    pytest.param(
        "feeling dizzy after the exercises", REVIEW, "review", id="dizziness is for review"
    ),
    pytest.param(
        "tingling in my toes is worse", REVIEW, "review", id="worse tingling is for review"
    ),
    pytest.param("theres a rash on my ankle", REVIEW, "review", id="a rash is for review"),
    pytest.param("I have a fever", REVIEW, "review", id="a fever alone is for review"),
    pytest.param("I almost fell", REVIEW, "review", id="almost falling is for review"),
]

# --- danger tiers, Spanish ------------------------------------------------------------------

ES_TIERS = [
    # emergencia
    pytest.param("me duele el pecho", EMERGENCY, "emergency", id="me duele el pecho is one"),
    pytest.param("ME DUELE EL PECHO 😭", EMERGENCY, "emergency", id="in capitals with a tear"),
    pytest.param(
        "dolor en el pecho desde anoche", EMERGENCY, "emergency", id="dolor en el pecho is one"
    ),
    pytest.param("opresión en el pecho", EMERGENCY, "emergency", id="opresion en el pecho"),
    pytest.param("el pecho me aprieta", EMERGENCY, "emergency", id="el pecho me aprieta"),
    pytest.param("no puedo respirar bien", EMERGENCY, "emergency", id="no puedo respirar"),
    pytest.param("me falta el aire", EMERGENCY, "emergency", id="me falta el aire"),
    pytest.param(
        "me caí y me pegué en la cabeza", EMERGENCY, "emergency", id="a fall with a head strike"
    ),
    pytest.param(
        "me pegué en la cabeza al caer", EMERGENCY, "emergency", id="hit the head in a fall"
    ),
    pytest.param(
        "me caí y no me puedo levantar", EMERGENCY, "emergency", id="fell and cannot get up"
    ),
    pytest.param("mi mamá se desmayó", EMERGENCY, "emergency", id="a carer reports fainting"),
    pytest.param(
        "tengo fiebre y el pie rojo e hinchado",
        EMERGENCY,
        "emergency",
        id="fever with a red swollen foot",
    ),
    pytest.param(
        "tengo calentura y el pie rojo", EMERGENCY, "emergency", id="calentura with a red foot"
    ),
    pytest.param(
        "lo rojo está subiendo por la pierna", EMERGENCY, "emergency", id="spreading redness"
    ),
    pytest.param("el pie está frío y pálido", EMERGENCY, "emergency", id="a cold pale foot"),
    # urgente
    pytest.param("tengo una llaga en el talón", URGENT, "foot_urgent", id="una llaga is urgent"),
    pytest.param("se me hizo una llaga", URGENT, "foot_urgent", id="se me hizo una llaga"),
    pytest.param("tengo una yaga", URGENT, "foot_urgent", id="yaga misspelt is urgent"),
    pytest.param("tengo una erida", URGENT, "foot_urgent", id="erida misspelt is urgent"),
    pytest.param("Tengo Una Herida En El Pie", URGENT, "foot_urgent", id="a wound in title case"),
    pytest.param(
        "herida en el pie que no sana", URGENT, "foot_urgent", id="a wound that does not heal"
    ),
    pytest.param("me sangra el dedo", URGENT, "foot_urgent", id="me sangra el dedo"),
    pytest.param("me sale sangre del dedo", URGENT, "foot_urgent", id="sangre from a toe"),
    pytest.param("sangrando mucho 🩸", URGENT, "foot_urgent", id="bleeding with a blood drop"),
    pytest.param("no para de sangrar", URGENT, "foot_urgent", id="no para de sangrar is urgent"),
    pytest.param("le sale pus al dedo gordo", URGENT, "foot_urgent", id="pus is urgent"),
    pytest.param("me salio pus", URGENT, "foot_urgent", id="me salio pus without accents"),
    pytest.param(
        "tengo el pie hinchado y caliente", URGENT, "foot_urgent", id="swollen and hot is urgent"
    ),
    pytest.param("el pie esta ynchado", URGENT, "foot_urgent", id="ynchado misspelt is urgent"),
    pytest.param("tengo el pie muy inchado", URGENT, "foot_urgent", id="inchado misspelt"),
    pytest.param("mi pie está colorado", URGENT, "foot_urgent", id="a colorado foot is urgent"),
    pytest.param("el dedo se puso negro", URGENT, "foot_urgent", id="a toe turned black"),
    pytest.param("el dedo está morado", URGENT, "foot_urgent", id="a purple toe is urgent"),
    pytest.param("mi pie huele mal", URGENT, "foot_urgent", id="a bad smell is urgent"),
    pytest.param(
        "me quemé el pie con agua caliente", URGENT, "foot_urgent", id="a burn with hot water"
    ),
    pytest.param("pisé un clavo", URGENT, "foot_urgent", id="stepped on a nail"),
    pytest.param("pisé un vidrio", URGENT, "foot_urgent", id="stepped on glass"),
    pytest.param("dolor de 8", URGENT, "exercise_pain", id="dolor de 8 is urgent"),
    pytest.param("el dolor es un 8", URGENT, "exercise_pain", id="el dolor es un 8 is urgent"),
    pytest.param("dolor insoportable", URGENT, "exercise_pain", id="unbearable pain is urgent"),
    pytest.param("no aguanto el dolor", URGENT, "exercise_pain", id="no aguanto el dolor"),
    # rutina
    pytest.param("me salió una ampolla", ROUTINE, "foot_routine", id="una ampolla is routine"),
    pytest.param(
        "Se me hizo una ampoya 😢", ROUTINE, "foot_routine", id="ampoya misspelt is routine"
    ),
    pytest.param("me corté el dedo del pie", ROUTINE, "foot_routine", id="a cut toe is routine"),
    pytest.param(
        "tengo una cortadita en el dedo", ROUTINE, "foot_routine", id="a little cut is routine"
    ),
    pytest.param("el talón tiene un callo", ROUTINE, "foot_routine", id="a callus is routine"),
    pytest.param("me caí en el baño", ROUTINE, "fall", id="a fall in the bathroom is routine"),
    pytest.param("me resbale en el bano", ROUTINE, "fall", id="a slip without accents"),
    pytest.param(
        "me caí ayer pero estoy bien", ROUTINE, "fall", id="a fall without injury is routine"
    ),
    # revisión
    pytest.param("tengo hormigueo en los pies", REVIEW, "review", id="tingling is for review"),
    pytest.param("estoy mareada", REVIEW, "review", id="dizziness is for review"),
    pytest.param("tengo fiebre", REVIEW, "review", id="a fever alone is for review"),
    pytest.param("tengo una mancha en el pie", REVIEW, "review", id="a spot is for review"),
    pytest.param("casi me caigo", REVIEW, "review", id="almost falling is for review"),
]


def assert_tier(outcome: Outcome, tier: Severity, reply: str) -> None:
    assert outcome.severity == tier
    assert Intent.SYMPTOM in outcome.intents
    # One escalation, at the most pressing tier: staff see one row, not one per word.
    assert [e.severity for e in escalations(outcome)] == [tier]
    assert outcome.replies == (reply,)
    assert outcome.needs_review
    assert outcome.prompt_for_options is None  # never a menu to someone describing this


@pytest.mark.parametrize(("text", "tier", "reply"), EN_TIERS)
def test_english_danger_signs_in_patients_own_words_get_their_tier(
    text: str, tier: Severity, reply: str
) -> None:
    assert_tier(interpret(EN, [], text), tier, reply)


@pytest.mark.parametrize(("text", "tier", "reply"), ES_TIERS)
def test_spanish_danger_signs_in_patients_own_words_get_their_tier(
    text: str, tier: Severity, reply: str
) -> None:
    assert_tier(interpret(ES, [], text), tier, reply)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        pytest.param("me sangra el pie", "en", id="Spanish bleeding from an English speaker"),
        pytest.param("my foot is bleeding", "es", id="English bleeding from a Spanish speaker"),
        pytest.param("me duele el pecho", "en", id="Spanish chest pain from an English speaker"),
        pytest.param("chest pain", "es", id="English chest pain from a Spanish speaker"),
    ],
)
def test_a_danger_sign_is_seen_in_either_language_whatever_the_patients_language(
    text: str, language: str
) -> None:
    outcome = interpret(CONTEXTS[language], [], text)
    assert outcome.severity in (EMERGENCY, URGENT)


@pytest.mark.parametrize(
    ("text", "baseline", "tier"),
    [
        pytest.param("pain 7", None, URGENT, id="seven with no baseline is urgent"),
        pytest.param("pain 7", 7, URGENT, id="seven is urgent even when it is usual"),
        pytest.param("pain 5", 3, ROUTINE, id="two above the usual is routine"),
        pytest.param("dolor de 4", 2, ROUTINE, id="dolor two above the usual is routine"),
        pytest.param("pain 4", 3, None, id="one above the usual is nothing"),
        pytest.param("pain 6", None, None, id="six with no baseline is nothing"),
        pytest.param("pain 2", 5, None, id="below the usual is nothing"),
    ],
)
def test_pain_written_anywhere_is_judged_against_seven_and_the_patients_usual(
    text: str, baseline: int | None, tier: Severity | None
) -> None:
    context = PatientContext(consent_granted=True, opted_out=False, pain_baseline=baseline)
    outcome = interpret(context, [], text)
    assert outcome.severity == tier
    if tier is not None:
        assert [e.reason for e in escalations(outcome)] == ["pain"]
        assert outcome.reply == "exercise_pain"


# --- negations and false friends --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "not_reason"),
    [
        # negated: good news, not an alarm
        pytest.param("no blisters today", "en", "blister", id="no blisters today"),
        pytest.param("No Blisters Today 👍", "en", "blister", id="no blisters in title case"),
        pytest.param("no sores or cuts", "en", "open_wound", id="no sores or cuts"),
        pytest.param("no bleeding", "en", "bleeding", id="no bleeding"),
        pytest.param("never had a sore", "en", "open_wound", id="never had a sore"),
        pytest.param("nothing new, no redness", "en", "red_hot_swollen", id="no redness"),
        pytest.param("no swelling", "en", "red_hot_swollen", id="no swelling"),
        pytest.param("I didnt fall", "en", "fall", id="i didnt fall"),
        pytest.param("it healed", "en", "open_wound", id="it healed"),
        pytest.param("the cut healed", "en", "cut", id="the cut healed"),
        pytest.param("the blister is gone", "en", "blister", id="the blister is gone"),
        pytest.param("no more pain", "en", "severe_pain", id="no more pain"),
        pytest.param("sin heridas", "es", "open_wound", id="sin heridas"),
        pytest.param("SIN HERIDAS 👍", "es", "open_wound", id="sin heridas in capitals"),
        pytest.param("no hay ampollas", "es", "blister", id="no hay ampollas"),
        pytest.param("no me he caído", "es", "fall", id="no me he caido"),
        pytest.param("no me caí", "es", "fall", id="no me cai"),
        pytest.param("ya sanó la herida", "es", "open_wound", id="ya sano la herida"),
        pytest.param("no tengo hinchazón", "es", "red_hot_swollen", id="no tengo hinchazon"),
        pytest.param("ya no tengo la ampolla", "es", "blister", id="ya no tengo la ampolla"),
        pytest.param(
            "sin ampollas ni heridas, todo bien", "es", "open_wound", id="sin ampollas ni heridas"
        ),
        pytest.param("nunca me sangra", "es", "bleeding", id="nunca me sangra"),
        pytest.param("no más dolor", "es", "severe_pain", id="no mas dolor"),
        pytest.param("sin pus", "en", "pus_drainage", id="sin pus from an English speaker"),
        # false friends: they look like a danger sign and are not
        pytest.param("blood sugar was 180 this morning", "en", "bleeding", id="blood sugar"),
        pytest.param("my blood sugar is 250", "en", "bleeding", id="blood sugar 250"),
        pytest.param("had blood work done", "en", "bleeding", id="blood work"),
        pytest.param("my feet fall asleep at night", "en", "fall", id="feet fall asleep"),
        pytest.param("I fell asleep early", "en", "fall", id="fell asleep"),
        pytest.param("cut my toenails today", "en", "cut", id="cut my toenails"),
        pytest.param("it's hot outside", "en", "red_hot_swollen", id="hot outside"),
        pytest.param("soaked my feet in warm water", "en", "red_hot_swollen", id="warm water"),
        pytest.param(
            "me sacaron sangre en el laboratorio", "es", "bleeding", id="sangre at the lab"
        ),
        pytest.param(
            "el azúcar en la sangre salió alta", "es", "bleeding", id="azucar en la sangre"
        ),
        pytest.param("me corté las uñas", "es", "cut", id="me corte las unas"),
        pytest.param("se me duermen los pies", "es", "fall", id="se me duermen los pies"),
        pytest.param("me caigo de sueño", "es", "fall", id="me caigo de sueno is sleepiness"),
        pytest.param("hace mucho calor", "es", "red_hot_swollen", id="hace mucho calor"),
    ],
)
def test_negations_and_false_friends_raise_no_alarm(
    text: str, language: str, not_reason: str
) -> None:
    outcome = interpret(CONTEXTS[language], [], text)
    assert not_reason not in {f.reason for f in outcome.screen.findings}
    # At most a person reads it ("my feet fall asleep" is numbness): never a tier that acts.
    assert outcome.severity in (None, REVIEW)
    assert not any(isinstance(action, OptOut) for action in outcome.actions)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        pytest.param("no blisters but my heel is bleeding", "en", id="en no blisters but"),
        pytest.param("no, it is bleeding", "en", id="en no comma it is bleeding"),
        pytest.param("it doesn't stop bleeding", "en", id="en doesnt stop bleeding"),
        pytest.param("sin ampollas pero me sangra el talón", "es", id="es sin ampollas pero"),
        pytest.param("no tengo heridas pero el pie está hinchado", "es", id="es no heridas pero"),
        pytest.param("mi pie no deja de sangrar", "es", id="es no deja de sangrar"),
    ],
)
def test_a_negation_does_not_reach_past_but_or_into_wont_stop(text: str, language: str) -> None:
    outcome = interpret(CONTEXTS[language], [FOOT_CHECK], text)
    assert outcome.severity == URGENT
    assert outcome.reply == "foot_urgent"


# --- what staff see ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "words"),
    [
        pytest.param("my foot is bleeding", "en", "bleeding", id="en the bleeding"),
        pytest.param("my heal has a soar", "en", "sore", id="en a misspelt sore as read"),
        pytest.param("tengo una llaga en el talón", "es", "llaga", id="es the llaga"),
        pytest.param("pain is 8/10", "en", "8/10", id="en the pain score"),
        pytest.param(
            "I have a fever and my foot is red and swollen", "en", "fever", id="en a combination"
        ),
    ],
)
def test_staff_see_the_words_that_raised_an_escalation(
    text: str, language: str, words: str
) -> None:
    outcome = interpret(CONTEXTS[language], [], text)
    (escalation,) = escalations(outcome)
    assert words in escalation.detail
    assert any(words in finding.said for finding in outcome.screen.findings)


def test_a_combination_names_both_signs_for_staff() -> None:
    readings = default_rules().read("I have a fever and my foot is red and swollen", "en")
    found = screen(readings)
    assert found.severity == EMERGENCY
    top = found.findings[0]
    assert "fever" in top.said
    assert "swollen" in top.said or "red" in top.said


@pytest.mark.parametrize(
    ("text", "language", "pain"),
    [
        pytest.param("Done, pain about 5/10", "en", 5, id="en pain about 5 of 10"),
        pytest.param("it's a 6 today", "en", 6, id="en its a 6 today"),
        pytest.param("pain: seven", "en", 7, id="en pain colon seven in words"),
        pytest.param("8 out of 10", "en", 8, id="en 8 out of 10"),
        pytest.param("DONE 3", "en", 3, id="en done 3"),
        pytest.param("dolor de 3", "es", 3, id="es dolor de 3"),
        pytest.param("listo, dolor de ocho", "es", 8, id="es dolor de ocho in words"),
        pytest.param("blood sugar 180", "en", None, id="en a number over 10 is not pain"),
        pytest.param("did 12 reps", "en", None, id="en reps are not pain"),
        pytest.param("see you at 3", "en", None, id="en a time is not pain"),
    ],
)
def test_a_pain_score_is_read_wherever_it_is_written(
    text: str, language: str, pain: int | None
) -> None:
    (reading, *_) = default_rules().read(text, language)
    assert pain_score(reading) == pain


# --- signs once missed (each was a reported bug, fixed since) --------------------------------


@pytest.mark.parametrize(
    ("text", "language", "tier"),
    [
        pytest.param(
            "my blood pressure is high and my chest feels tight",
            "en",
            EMERGENCY,
            id="a false friend beside a real sign does not swallow it",
        ),
        pytest.param(
            "siento presión en el pecho",
            "es",
            EMERGENCY,
            id="presion en el pecho is chest pressure, not blood pressure",
        ),
        pytest.param(
            "ya no para de sangrar",
            "es",
            URGENT,
            id="ya no para de sangrar is still bleeding",
        ),
        pytest.param(
            "sí, ya, no para de sangrar",
            "es",
            URGENT,
            id="ya before a comma does not negate no para de sangrar",
        ),
        pytest.param("chest pian", "en", EMERGENCY, id="a common misspelling of pain"),
    ],
)
def test_signs_once_missed_are_caught(text: str, language: str, tier: Severity) -> None:
    assert interpret(CONTEXTS[language], [], text).severity == tier


@pytest.mark.parametrize(
    ("text", "language"),
    [
        pytest.param("can you look at my foot", "en", id="en a foot to look at"),
        pytest.param("siento el pie dormido", "es", id="es a foot that feels asleep"),
        pytest.param(
            "feels like an elephant is sitting on my chest", "en", id="en an elephant on the chest"
        ),
    ],
)
def test_a_reply_about_the_body_not_understood_goes_to_review(text: str, language: str) -> None:
    outcome = interpret(CONTEXTS[language], [], text)
    assert outcome.severity is not None
    assert "unknown" not in outcome.replies


# --- properties -------------------------------------------------------------------------------

# Danger phrases per tier, in both languages: each a whole sign in one sentence (a sign that
# needs a body part carries its own).
DANGER_PHRASES: list[tuple[Severity, str]] = [
    (EMERGENCY, "my chest hurts"),
    (EMERGENCY, "chest pain"),
    (EMERGENCY, "I can't breathe"),
    (EMERGENCY, "short of breath"),
    (EMERGENCY, "I fell and hit my head"),
    (EMERGENCY, "I fell and can't get up"),
    (EMERGENCY, "redness going up my leg"),
    (EMERGENCY, "my foot is cold and pale"),
    (EMERGENCY, "I passed out"),
    (EMERGENCY, "fever and my foot is red"),
    (EMERGENCY, "me duele el pecho"),
    (EMERGENCY, "dolor en el pecho"),
    (EMERGENCY, "no puedo respirar"),
    (EMERGENCY, "me falta el aire"),
    (EMERGENCY, "me caí y me pegué en la cabeza"),
    (EMERGENCY, "me caí y no me puedo levantar"),
    (EMERGENCY, "lo rojo sube por la pierna"),
    (EMERGENCY, "el pie está frío y pálido"),
    (EMERGENCY, "me desmayé"),
    (EMERGENCY, "tengo fiebre y el pie rojo"),
    (URGENT, "my foot is bleeding"),
    (URGENT, "open sore on my heel"),
    (URGENT, "pus coming out of my toe"),
    (URGENT, "my ankle is swollen"),
    (URGENT, "my foot is red and hot"),
    (URGENT, "my big toe turned black"),
    (URGENT, "my foot smells bad"),
    (URGENT, "I burned my foot"),
    (URGENT, "I stepped on a nail"),
    (URGENT, "the pain is unbearable"),
    (URGENT, "there is a wound on my foot"),
    (URGENT, "my toe won't stop bleeding"),
    (URGENT, "my pain is 9 out of 10"),
    (URGENT, "me sangra el pie"),
    (URGENT, "tengo una llaga en el talón"),
    (URGENT, "le sale pus al dedo"),
    (URGENT, "tengo el tobillo hinchado"),
    (URGENT, "el pie está rojo y caliente"),
    (URGENT, "el dedo se puso negro"),
    (URGENT, "el pie huele mal"),
    (URGENT, "me quemé el pie"),
    (URGENT, "pisé un clavo"),
    (URGENT, "dolor insoportable"),
    (URGENT, "tengo una herida en el pie"),
    (URGENT, "no para de sangrar"),
    (ROUTINE, "I have a blister"),
    (ROUTINE, "a small cut on my toe"),
    (ROUTINE, "a callus on my heel"),
    (ROUTINE, "I fell yesterday"),
    (ROUTINE, "I tripped on the rug"),
    (ROUTINE, "tengo una ampolla"),
    (ROUTINE, "me corté el dedo"),
    (ROUTINE, "tengo un callo en el talón"),
    (ROUTINE, "me caí ayer"),
    (ROUTINE, "me resbalé en la ducha"),
    (REVIEW, "my feet are numb"),
    (REVIEW, "I feel dizzy"),
    (REVIEW, "I have a fever"),
    (REVIEW, "a rash on my ankle"),
    (REVIEW, "tingling in my toes"),
    (REVIEW, "tengo hormigueo en los pies"),
    (REVIEW, "estoy mareada"),
    (REVIEW, "tengo fiebre"),
    (REVIEW, "tengo una mancha en el pie"),
    (REVIEW, "siento los pies adormecidos"),
]

# Harmless words: greetings, times, places, who is typing, a question, in both languages
# (patients mix them). "Harmless" has to exclude, and these do not contain:
# - negation cues, before or after a sign (no, not, never, without, nothing, don't, sin,
#   nunca, ni, nada, tampoco; healed, gone, better, fine, ok, good, bien, mejor, se fue,
#   bajó): within their reach they rightly cancel a sign;
# - a word that makes a negation cue with a phrase's first word: "ya" before "no para de
#   sangrar" read "ya no" (no longer). This test found that (fixed since, and held by
#   test_signs_once_missed_are_caught), but "ya" stays out so the property holds for
#   what it is about;
# - false friends or a word that makes one with a sign's edge (sugar, pressure, asleep,
#   water, outside, toenails, lab, azúcar, presión, laboratorio, calor, sueño...);
# - near-miss words that make a milder sign of a danger word (almost, nearly, casi);
# - body parts, symptoms, digits and number words, and stop or start words: not harmful,
#   but they are signs, scores or opt-outs of their own, so not "harmless" either.
HARMLESS = [
    "hi this is Maria",
    "hello",
    "sorry to text so late",
    "I just got home from church",
    "my daughter is helping me type",
    "since yesterday afternoon",
    "this morning",
    "what should I do",
    "please call me back",
    "I am at home",
    "I was walking the dog",
    "after my exercises",
    "I wore my new shoes",
    "thank you",
    "🙂",
    "lol",
    "can someone call me",
    "my name is John",
    "is that normal?",
    "it started last week",
    "really",
    "honestly",
    "um",
    "anyway",
    "I think",
    "my wife says",
    "oh and",
    "hola buenos días",
    "soy la hija de la paciente",
    "desde ayer",
    "esta mañana",
    "qué hago?",
    "por favor llámenme",
    "estoy en la casa",
    "después de caminar",
    "con los zapatos nuevos",
    "gracias",
    "mi hijo me ayuda a escribir",
    "es normal?",
    "🙏",
    "desde el lunes",
    "pues",
    "oiga",
    "la verdad",
    "creo que",
    "ayer en la tarde",
    "😭",
]
SEPARATORS = [". ", ", ", " ", "! ", "\n", " - ", "... "]
KINDS = ["consent", "session", "foot_check", "foot_followup", "exercise"]

prompts = st.lists(
    st.builds(Prompt, id=st.integers(1, 99), kind=st.sampled_from(KINDS), ref=st.just(501)),
    max_size=3,
)
contexts = st.builds(
    PatientContext,
    consent_granted=st.booleans(),
    opted_out=st.booleans(),
    pain_baseline=st.none() | st.integers(0, 6),
    language=st.sampled_from(["en", "es"]),
)
harmless = st.lists(st.sampled_from(HARMLESS), max_size=3)
CASINGS: list[Callable[[str], str]] = [str, str.upper, str.lower, str.title]
casing = st.sampled_from(CASINGS)


def surround(before: list[str], phrase: str, after: list[str], separators: list[str]) -> str:
    parts = [*before, phrase, *after]
    text = parts[0]
    for index, part in enumerate(parts[1:]):
        text += separators[index % len(separators)] + part
    return text


@settings(max_examples=200, deadline=None)
@given(
    danger=st.sampled_from(DANGER_PHRASES),
    before=harmless,
    after=harmless,
    separators=st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=6),
    case=casing,
    context=contexts,
    asked=prompts,
)
def test_a_danger_phrase_keeps_its_tier_whatever_harmless_words_surround_it(
    danger: tuple[Severity, str],
    before: list[str],
    after: list[str],
    separators: list[str],
    case: Callable[[str], str],
    context: PatientContext,
    asked: list[Prompt],
) -> None:
    tier, phrase = danger
    text = case(surround(before, phrase, after, separators))
    outcome = interpret(context, asked, text)
    assert outcome.severity is not None, text
    assert outcome.severity.rank <= tier.rank, text


# Noise with no letters: digits, punctuation, emoji and symbols, as phones and keyboards add.
noise = st.text(
    alphabet=st.characters(exclude_categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Cs")), max_size=6
)


@settings(max_examples=200, deadline=None)
@given(
    danger=st.sampled_from(DANGER_PHRASES),
    before=harmless,
    after=harmless,
    left=noise,
    right=noise,
    context=contexts,
    asked=prompts,
)
def test_no_reply_with_a_danger_phrase_ever_gets_the_didnt_understand_text(
    danger: tuple[Severity, str],
    before: list[str],
    after: list[str],
    left: str,
    right: str,
    context: PatientContext,
    asked: list[Prompt],
) -> None:
    _, phrase = danger
    text = " ".join([*before, left, phrase, right, *after])
    outcome = interpret(context, asked, text)
    assert "unknown" not in outcome.replies, text
    assert Intent.UNKNOWN not in outcome.intents, text
    assert escalations(outcome), text
