import pytest

from outreach.texts.smslength import SmsMeasure, is_gsm7, measure

EMOJI = "\U0001f600"  # outside the BMP: two UTF-16 code units


CASES = [
    ("empty", "", SmsMeasure("GSM-7", 0, 0, 0)),
    ("160 GSM-7 fit one", "a" * 160, SmsMeasure("GSM-7", 160, 160, 1)),
    ("161 GSM-7 need two", "a" * 161, SmsMeasure("GSM-7", 161, 161, 2)),
    ("306 GSM-7 fit two of 153", "a" * 306, SmsMeasure("GSM-7", 306, 306, 2)),
    ("307 GSM-7 need three", "a" * 307, SmsMeasure("GSM-7", 307, 307, 3)),
    ("80 euro signs are 160 septets", "€" * 80, SmsMeasure("GSM-7", 80, 160, 1)),
    ("one more septet needs two", "€" * 80 + "a", SmsMeasure("GSM-7", 81, 161, 2)),
    ("brackets count double", "{}[]", SmsMeasure("GSM-7", 4, 8, 1)),
    ("é stays GSM-7", "café", SmsMeasure("GSM-7", 4, 4, 1)),
    ("70 UCS-2 fit one", "á" * 70, SmsMeasure("UCS-2", 70, 70, 1)),
    ("71 UCS-2 need two", "á" * 71, SmsMeasure("UCS-2", 71, 71, 2)),
    ("134 UCS-2 fit two of 67", "á" * 134, SmsMeasure("UCS-2", 134, 134, 2)),
    ("135 UCS-2 need three", "á" * 135, SmsMeasure("UCS-2", 135, 135, 3)),
    ("an emoji is two units", EMOJI, SmsMeasure("UCS-2", 1, 2, 1)),
    ("35 emoji fit one", EMOJI * 35, SmsMeasure("UCS-2", 35, 70, 1)),
    ("36 emoji need two", EMOJI * 36, SmsMeasure("UCS-2", 36, 72, 2)),
    ("one á makes 160 letters three parts", "a" * 159 + "á", SmsMeasure("UCS-2", 160, 160, 3)),
]


@pytest.mark.parametrize(
    ("body", "expected"), [pytest.param(body, expected, id=name) for name, body, expected in CASES]
)
def test_it_measures_encoding_units_and_segments(body: str, expected: SmsMeasure) -> None:
    assert measure(body) == expected


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 306 septets would fit two parts of 153, but the € (ESC + e) would straddle them.
    body = "a" * 152 + "€" + "a" * 152
    assert measure(body).units == 306
    assert measure(body).segments == 3


def test_an_emoji_is_never_split_across_parts() -> None:
    body = "á" * 66 + EMOJI + "á" * 66
    assert measure(body).units == 134
    assert measure(body).segments == 3


@pytest.mark.parametrize("ch", list("éèùìòÇØøÅåÄÖÑÜ§¿¡àäöñüßÆæÉΔΦΓΛΩΠΨΣΘΞ@£$¥¤_\n^{}\\[~]|€"))
def test_it_keeps_gsm7_characters_in_gsm7(ch: str) -> None:
    assert is_gsm7(f"Riverside PT: {ch}")


@pytest.mark.parametrize("ch", ["á", "í", "ó", "ú", "Á", "ç", "`", "’", "\xa0", "—", EMOJI])
def test_one_character_outside_gsm7_switches_the_text_to_ucs2(ch: str) -> None:
    assert not is_gsm7(f"Riverside PT: {ch}")
    assert measure(f"Riverside PT: {ch}").encoding == "UCS-2"
