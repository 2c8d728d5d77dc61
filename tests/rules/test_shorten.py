"""Long texts cut for a table cell: at a word, with an ellipsis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outreach.rules.shorten import shorten


@pytest.mark.parametrize(
    ("text", "width", "shown"),
    [
        ("Did you do your exercises today?", 40, "Did you do your exercises today?"),
        ("Did you do your exercises today?", 32, "Did you do your exercises today?"),
        ("Did you do your exercises today?", 31, "Did you do your exercises…"),
        ("Did you do your exercises today?", 20, "Did you do your…"),
        # The cut falls just before a space: the last word is whole and kept.
        ("Did you do your exercises today?", 16, "Did you do your…"),
        ("seated calf stretch, heel raises and more", 21, "seated calf stretch…"),
        ("Reply 1 - all OK", 10, "Reply 1…"),
        ("Pneumonoultramicroscopic", 10, "Pneumonou…"),
        ("line one\nline two\n\tline three", 40, "line one line two line three"),
        ("  spaced   out  ", 40, "spaced out"),
        ("", 5, ""),
        ("abc", 1, "…"),
    ],
)
def test_a_long_text_is_cut_at_a_word_with_an_ellipsis(text: str, width: int, shown: str) -> None:
    assert shorten(text, width) == shown


def test_a_width_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="width"):
        shorten("text", 0)


words = st.lists(st.text(alphabet="abcdé", min_size=1, max_size=12), max_size=12)


@given(words=words, width=st.integers(min_value=1, max_value=60))
def test_a_cut_fits_and_ends_at_a_word_unless_the_first_word_is_too_long(
    words: list[str], width: int
) -> None:
    text = " ".join(words)
    shown = shorten(text, width)

    assert len(shown) <= width
    if len(text) <= width:
        assert shown == text
        return
    assert shown.endswith("…")
    kept = shown[:-1].split()
    if len(words[0]) < width:
        assert kept == words[: len(kept)], "only whole words, in order"
