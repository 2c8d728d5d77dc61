"""The reply rules are data a clinician edits: a bad line stops start-up with an error that
names the file and the line, and says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.config import REPO_ROOT
from outreach.rules.replies.conversation import interpret
from outreach.rules.replies.outcome import PatientContext
from outreach.rules.replies.reading import Rules
from outreach.rules.replies.rulefile import RulesError, load, parse_language
from outreach.rules.vocabulary import Severity

GOOD_SIGNS = """\
# A clinic's own rules: a comment, then sections.
[urgent bleeding followup=1]
bleed*
blood
[review fever]
fever
"""


def write(tmp_path: Path, text: str, name: str = "en.rules") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_for(path: Path) -> str:
    with pytest.raises(RulesError) as caught:
        parse_language(path)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        pytest.param(
            GOOD_SIGNS + "[urgnt]\nwound\n", 7, "unknown section [urgnt]", id="a misspelt tier"
        ),
        pytest.param(
            GOOD_SIGNS + "[urgnt open_wound]\nwound\n",
            7,
            "unknown section [urgnt]",
            id="a misspelt tier with its reason",
        ),
        pytest.param(
            GOOD_SIGNS + "[symptoms]\nnumb\n", 7, "unknown section [symptoms]", id="a plural name"
        ),
        pytest.param(
            GOOD_SIGNS + "[answer yess]\nyep\n", 7, "[answer yess]", id="an unknown answer name"
        ),
        pytest.param(
            "[urgent Open-Wound]\nwound\n", 1, "needs a reason like", id="a reason with capitals"
        ),
        pytest.param("[urgent]\nwound\n", 1, "needs a reason like", id="a tier with no reason"),
        pytest.param(
            "[routine 1blister]\nblister\n", 1, "needs a reason like", id="a reason from a digit"
        ),
        pytest.param(
            "[urgent bleeding followup=5]\nblood\n", 1, "followup=", id="a follow-up answer of 5"
        ),
        pytest.param(
            "[urgent bleeding needs=foot]\nblood\n", 1, "needs=", id="needs something but body"
        ),
        pytest.param(
            GOOD_SIGNS + "[urgent wound]\n", 7, "has no phrases", id="a section with no phrases"
        ),
        pytest.param("[urgent bleeding\nblood\n", 1, "ends with ']'", id="an unclosed header"),
    ],
)
def test_a_bad_section_header_names_the_file_and_line(
    tmp_path: Path, text: str, line: int, says: str
) -> None:
    path = write(tmp_path, text)
    message = error_for(path)
    assert message.startswith(f"{path}:{line}: ")
    assert says in message


@pytest.mark.parametrize(
    ("phrase", "says"),
    [
        pytest.param("bleeding ...", "'...' must stand between two words", id="a gap at the end"),
        pytest.param("... bleeding", "'...' must stand between two words", id="a gap at the start"),
        pytest.param("bleed ... ... foot", "'...' must stand between two words", id="two gaps"),
        pytest.param("bleeding!", "is not a word", id="a word with a bang"),
        pytest.param("sang-re", "is not a word", id="a word with a hyphen"),
        pytest.param("blood|", "is not a word", id="an empty alternative"),
        pytest.param("🩸", "is not a word", id="an emoji as a phrase"),
        pytest.param("b*", "too short a stem", id="a stem of one letter"),
    ],
)
def test_a_bad_phrase_names_the_file_and_line(tmp_path: Path, phrase: str, says: str) -> None:
    path = write(tmp_path, GOOD_SIGNS + "[urgent wound]\nwound\n" + phrase + "\n")
    message = error_for(path)
    assert message.startswith(f"{path}:9: ")
    assert says in message


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        pytest.param("eleven = 11", "a [number] is 0 to 10, not '11'", id="eleven"),
        pytest.param("veinte = 20", "a [number] is 0 to 10, not '20'", id="twenty"),
        pytest.param("minus one = -1", "a [number] is 0 to 10", id="a negative number"),
        pytest.param("seven", "lines read 'this = that'", id="a number with no value"),
    ],
)
def test_a_number_over_10_or_malformed_names_the_file_and_line(
    tmp_path: Path, entry: str, says: str
) -> None:
    path = write(tmp_path, GOOD_SIGNS + "[number]\none = 1\n" + entry + "\n")
    message = error_for(path)
    assert message.startswith(f"{path}:9: ")
    assert says in message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("bleed*\n" + GOOD_SIGNS, id="a phrase before any section"),
        pytest.param("one = 1\n" + GOOD_SIGNS, id="a mapping before any section"),
    ],
)
def test_a_line_before_any_section_names_the_file_and_line(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "# comments and blank lines come first\n\n" + text)
    message = error_for(path)
    assert message.startswith(f"{path}:3: ")
    assert "before any [section]" in message


def test_a_malformed_combination_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_SIGNS + "[combine]\nemergency = fever\n")
    message = error_for(path)
    assert message.startswith(f"{path}:8: ")
    assert "TIER reason = a|b + c" in message


COMBINE_UNKNOWN = GOOD_SIGNS + "[combine]\nemergency fever_with_wound = fever + wound\n"


def test_a_combination_naming_an_unknown_reason_names_the_file_and_the_reason(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, COMBINE_UNKNOWN)
    message = error_for(path)
    assert message.startswith(str(path))
    assert "[combine]" in message
    assert "'wound'" in message
    assert "'fever'" not in message  # fever is a section of this file


def test_a_combination_naming_an_unknown_reason_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, COMBINE_UNKNOWN)
    assert error_for(path).startswith(f"{path}:8: ")


NOT_UTF8 = "[urgent bleeding]\nsangre\n[review fever]\ncalentura\nfiebre alta en la mañana\n"


def test_a_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "es.rules"
    path.write_bytes(NOT_UTF8.encode("latin-1"))  # "mañana" as one byte: not UTF-8
    message = error_for(path)
    assert message.startswith(str(path))
    assert "not UTF-8" in message


def test_a_file_that_is_not_utf8_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "es.rules"
    path.write_bytes(NOT_UTF8.encode("latin-1"))
    assert error_for(path).startswith(f"{path}:5: ")


def test_loading_a_folder_stops_at_the_first_bad_file_and_names_it(tmp_path: Path) -> None:
    write(tmp_path, GOOD_SIGNS, "en.rules")
    bad = write(tmp_path, "[sangrado]\nsangre\n", "es.rules")
    with pytest.raises(RulesError, match="unknown section") as caught:
        load(tmp_path)
    assert str(caught.value).startswith(f"{bad}:1: ")


def test_a_folder_without_rules_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match=r"no \*\.rules files"):
        load(tmp_path)
    with pytest.raises(RulesError, match="no reply rules folder"):
        load(tmp_path / "missing")


def test_a_rules_error_is_a_value_error() -> None:
    assert issubclass(RulesError, ValueError)


def test_the_shipped_rules_load_cleanly_for_both_languages() -> None:
    languages = load(REPO_ROOT / "templates" / "replies")
    assert {"en", "es"} <= set(languages)
    for language in languages.values():
        assert language.signs
        assert {sign.severity for sign in language.signs} == set(Severity)


def test_a_clinicians_own_rule_file_is_read_and_used(tmp_path: Path) -> None:
    write(tmp_path, GOOD_SIGNS + "[urgent wound followup=1]\nlesion*\n[negation-before]\nno\n")
    rules = Rules(load(tmp_path))
    context = PatientContext(consent_granted=True, opted_out=False)
    assert interpret(context, [], "a lesion on my toe", rules).severity == Severity.URGENT
    assert interpret(context, [], "no lesions today", rules).severity is None


def test_every_shipped_reason_reads_in_plain_words_for_staff() -> None:
    # Today and the escalation page name the reason; a code like "pus_drainage" would do,
    # but staff on the phone should read words a clinician wrote.
    from outreach.rules.reasonwords import REASON_WORDS

    missing = {
        (code, reason)
        for code, language in load(REPO_ROOT / "templates" / "replies").items()
        for reason in [s.reason for s in language.signs] + [c.reason for c in language.combinations]
        if reason not in REASON_WORDS
    }
    assert missing == set()
