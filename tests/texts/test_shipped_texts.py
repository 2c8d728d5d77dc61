"""What the shipped texts say: the words they offer as replies work, and they agree."""

import re

import pytest

from outreach.config import Settings
from outreach.rules.replies.conversation import interpret
from outreach.rules.replies.keywords import STOP_WORDS, normalise
from outreach.rules.replies.outcome import GrantConsent, Intent, OptOut, PatientContext, Prompt
from outreach.texts.render import Renderer
from outreach.texts.templatecheck import labels, sample_context

SETTINGS = Settings(clinic_short_name="Riverside PT", clinic_name="Riverside Physical Therapy")
CONSENT = Prompt(10, "consent")
# A reply word offered in capitals: YES, SÍ, HELP, BAJA (single letters such as C are menus).
OFFERED = re.compile(r"\b[A-ZÁÉÍÓÚÑ]{2,}\b")


@pytest.fixture(scope="module")
def shipped() -> Renderer:
    return Renderer(SETTINGS.templates_dir, SETTINGS)


def body(renderer: Renderer, label: str, language: str) -> str:
    name = label.partition("[")[0]
    text = renderer.render(name, language, **sample_context(label, language)).body
    return text.removeprefix("Riverside PT: ")


def offered(renderer: Renderer, label: str, language: str) -> list[str]:
    return OFFERED.findall(body(renderer, label, language))


@pytest.mark.parametrize(
    ("language", "words"), [("en", ["YES", "HELP", "STOP"]), ("es", ["SÍ", "AYUDA", "BAJA"])]
)
def test_the_consent_text_offers_words_that_do_what_it_says(
    shipped: Renderer, language: str, words: list[str]
) -> None:
    assert offered(shipped, "consent", language) == words
    pending = PatientContext(consent_granted=False, opted_out=False, language=language)
    join, help_, stop = (interpret(pending, [CONSENT], word) for word in words)
    assert join.actions == (GrantConsent(),)
    assert help_.intents == (Intent.HELP,)
    assert any(isinstance(action, OptOut) for action in stop.actions)


@pytest.mark.parametrize(("language", "stop_word"), [("en", "STOP"), ("es", "BAJA")])
def test_every_text_that_names_a_stop_word_names_the_same_one(
    shipped: Renderer, language: str, stop_word: str
) -> None:
    named = {
        label: {word for word in offered(shipped, label, language) if normalise(word) in STOP_WORDS}
        for template in shipped.templates()
        if shipped.has_template(template, language)
        for label in labels(template)
    }
    # The consent text and the welcome that follows it must agree, and so must the rest.
    assert named["consent"] == named["consent_granted"] == {stop_word}
    assert {frozenset(words) for words in named.values() if words} == {frozenset({stop_word})}


def test_spanish_texts_write_si_with_its_accent(shipped: Renderer) -> None:
    for template in shipped.templates():
        if shipped.has_template(template, "es"):
            for label in labels(template):
                assert "SI" not in offered(shipped, label, "es"), label
    assert "SÍ" in offered(shipped, "unknown[consent]", "es")


@pytest.mark.parametrize(
    ("language", "rates"),
    [
        ("en", "Msg & data rates may apply."),
        ("es", "Pueden aplicarse tarifas de mensajes y datos."),
    ],
)
def test_the_consent_text_ends_with_the_rates_line(
    shipped: Renderer, language: str, rates: str
) -> None:
    assert body(shipped, "consent", language).endswith(rates)


@pytest.mark.parametrize(
    ("language", "cap"), [("en", "up to 3 reminders a day"), ("es", "3 recordatorios")]
)
@pytest.mark.parametrize("template", ["consent", "help"])
def test_the_daily_cap_is_promised_for_reminders_since_replies_are_exempt(
    shipped: Renderer, template: str, language: str, cap: str
) -> None:
    text = body(shipped, template, language)
    assert cap in text
    assert "msgs" not in text and "mensajes diarios" not in text


@pytest.mark.parametrize(
    ("language", "rest"), [("en", r"and (\d+) more\."), ("es", r"y otros (\d+)\.")]
)
def test_the_exercise_text_counts_the_exercises_it_leaves_out(
    shipped: Renderer, language: str, rest: str
) -> None:
    context = sample_context("exercise", language)
    text = shipped.render("exercise", language, **context).body
    shown = [name for name in context["exercises"] if name in text]
    found = re.search(rest, text)
    assert found is not None, text
    assert len(shown) + int(found[1]) == len(context["exercises"]) == 6
