"""Every intent a reply can be understood as has words for staff, and a stored list of them
reads as a phrase."""

from __future__ import annotations

import pytest

from outreach.rules.intentwords import INTENT_WORDS, intent_words, understood_as
from outreach.rules.replies.outcome import Intent


def test_every_intent_has_words_and_no_words_are_a_code() -> None:
    assert set(INTENT_WORDS) == set(Intent)
    for intent, words in INTENT_WORDS.items():
        assert "_" not in words and words != intent.value, intent


@pytest.mark.parametrize(
    ("stored", "words", "sentence"),
    [
        ("foot_ok", "feet all OK", "Understood as: feet all OK"),
        (
            "exercise_done,symptom",
            "exercises done, a symptom",
            "Understood as: exercises done, a symptom",
        ),
        ("unknown", "Not understood: needs a person", "Not understood: needs a person"),
        (None, "not read yet", "Not read yet"),
        ("", "not read yet", "Not read yet"),
        ("retired_intent", "retired intent", "Understood as: retired intent"),
    ],
)
def test_a_stored_intent_reads_as_words(stored: str | None, words: str, sentence: str) -> None:
    assert intent_words(stored) == words
    assert understood_as(stored) == sentence
