from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from outreach.config import Settings
from outreach.texts.render import (
    FORMATS,
    PrivacyError,
    Renderer,
    TemplateError,
    clean,
    exercise_list,
)

NEW_YORK = ZoneInfo("America/New_York")
SATURDAY = datetime(2025, 11, 29, 10, 30, tzinfo=NEW_YORK)
# Explicit, so the tests do not move when the defaults do.
SETTINGS = Settings(
    clinic_name="Riverside Physical Therapy",
    clinic_short_name="Riverside PT",
    clinic_phone="+16175550123",
    daily_cap=4,
)


@dataclass(frozen=True)
class Patient:
    first_name: str


@pytest.fixture
def shipped() -> Renderer:
    return Renderer(SETTINGS.templates_dir, SETTINGS)


def renderer_with(tmp_path: Path, files: dict[str, str]) -> Renderer:
    """A renderer over `files` such as {"en/hello": "..."} written to a temp templates dir."""
    for name, text in files.items():
        path = tmp_path / "sms" / f"{name}.txt.j2"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Renderer(tmp_path, SETTINGS)


def test_it_renders_a_session_reminder_with_the_clinic_and_the_time(shipped: Renderer) -> None:
    rendered = shipped.render("session", "en", patient=Patient("Ana"), starts_at=SATURDAY)
    assert rendered.body.startswith("Riverside PT: ")
    assert "Sat Nov 29 at 10:30 AM" in rendered.body
    assert (rendered.template, rendered.language) == ("session", "en")
    assert rendered.measure.segments == 1


def test_it_injects_the_clinic_phone_for_display_and_the_daily_cap(shipped: Renderer) -> None:
    body = shipped.render("help", "en").body
    assert "(617) 555-0123" in body
    assert "up to 4 reminders a day" in body


def test_spanish_filters_give_spanish_day_names_and_a_24_hour_clock(shipped: Renderer) -> None:
    evening = datetime(2025, 11, 26, 17, 5, tzinfo=NEW_YORK)
    body = shipped.render("session", "es", patient=Patient("Ana"), starts_at=evening).body
    assert "el miércoles 26 de noviembre a las 17:05" in body


@pytest.mark.parametrize("month", range(1, 13))
@pytest.mark.parametrize("weekday", range(7))
def test_every_spanish_date_in_full_keeps_the_session_texts_within_two_segments(
    shipped: Renderer, weekday: int, month: int
) -> None:
    # The 30th where there is one, else the 28th: the longest dates ("sábado 30 de septiembre").
    day = 28 if month == 2 else 30
    base = datetime(2026, month, day, 21, 30, tzinfo=NEW_YORK)
    when = base.replace(day=day - (base.weekday() - weekday) % 7)
    assert when.weekday() == weekday
    for template in ("session", "session_confirmed"):
        rendered = shipped.render(template, "es", patient=Patient("Guadalupe"), starts_at=when)
        assert rendered.measure.segments <= 2, rendered.body


@pytest.mark.parametrize(
    ("language", "when", "day", "clock"),
    [
        ("en", datetime(2025, 11, 24, 9, 30, tzinfo=NEW_YORK), "Mon Nov 24", "9:30 AM"),
        ("en", datetime(2025, 11, 24, 0, 15, tzinfo=NEW_YORK), "Mon Nov 24", "12:15 AM"),
        ("en", datetime(2025, 11, 24, 12, 0, tzinfo=NEW_YORK), "Mon Nov 24", "12:00 PM"),
        ("en", datetime(2026, 1, 4, 16, 45, tzinfo=NEW_YORK), "Sun Jan 4", "4:45 PM"),
        ("es", datetime(2025, 11, 24, 9, 30, tzinfo=NEW_YORK), "lunes 24 de noviembre", "9:30"),
        ("es", datetime(2025, 11, 29, 21, 0, tzinfo=NEW_YORK), "sábado 29 de noviembre", "21:00"),
        ("es", datetime(2026, 10, 27, 9, 0, tzinfo=NEW_YORK), "martes 27 de octubre", "9:00"),
        ("es", datetime(2026, 3, 3, 9, 0, tzinfo=NEW_YORK), "martes 3 de marzo", "9:00"),
        (
            "es",
            datetime(2026, 8, 5, 8, 0, tzinfo=ZoneInfo("America/Los_Angeles")),
            "miércoles 5 de agosto",
            "8:00",
        ),
    ],
)
def test_day_and_clock_read_the_datetimes_own_wall_clock(
    tmp_path: Path, language: str, when: datetime, day: str, clock: str
) -> None:
    renderer = renderer_with(tmp_path, {f"{language}/when": "{{ at|day }} / {{ at|clock }}"})
    assert renderer.render("when", language, at=when).body == f"{day} / {clock}"


def test_a_naive_datetime_is_refused(tmp_path: Path) -> None:
    renderer = renderer_with(tmp_path, {"en/when": "{{ at|day }}"})
    with pytest.raises(TemplateError, match="aware datetime"):
        renderer.render("when", "en", at=datetime(2025, 11, 24, 9, 30))


@pytest.mark.parametrize(
    ("language", "items", "budget", "expected"),
    [
        ("en", [], None, ""),
        ("en", ["calf stretch"], None, "calf stretch"),
        ("en", ["calf stretch", "heel raises"], None, "calf stretch and heel raises"),
        (
            "en",
            ["calf stretch", "heel raises", "marching"],
            None,
            "calf stretch, heel raises and marching",
        ),
        ("en", ["a", "b", "c", "d"], None, "a, b, c and 1 more"),
        ("en", ["a", "b", "c", "d", "e", "f"], None, "a, b, c and 3 more"),
        (
            "en",
            ["seated calf stretch", "heel raises", "marching"],
            35,
            "seated calf stretch and 2 more",
        ),
        (
            "en",
            ["a very long exercise name indeed", "b"],
            5,
            "a very long exercise name indeed and 1 more",
        ),
        ("en", "calf stretch\n\nheel raises\n", None, "calf stretch and heel raises"),
        ("es", ["pantorrilla", "talones", "marcha"], None, "pantorrilla, talones y marcha"),
        ("es", ["a", "b", "c", "d"], None, "a, b, c y otro"),
        ("es", ["a", "b", "c", "d", "e"], None, "a, b, c y otros 2"),
    ],
)
def test_exercise_list_joins_names_and_shortens_long_lists(
    language: str, items: list[str] | str, budget: int | None, expected: str
) -> None:
    assert exercise_list(FORMATS[language], items, budget=budget) == expected


def test_a_missing_variable_raises_a_template_error_naming_it(shipped: Renderer) -> None:
    with pytest.raises(TemplateError, match="starts_at") as error:
        shipped.render("session", "en", patient=Patient("Ana"))
    assert "sms/en/session.txt.j2" in str(error.value)
    assert not isinstance(error.value, PrivacyError)


def test_a_diagnosis_word_in_a_passed_value_raises_a_privacy_error(shipped: Renderer) -> None:
    with pytest.raises(PrivacyError, match="Diabetic") as error:
        shipped.render("exercise", "en", patient=Patient("Ana"), exercises=["Diabetic foot rolls"])
    assert error.value.words == ["Diabetic"]
    assert "Diabetic foot rolls" in error.value.rendered.body


def test_jinja_syntax_inside_a_value_is_inserted_verbatim(shipped: Renderer) -> None:
    body = shipped.render("foot_ok", "en", patient=Patient("{{ 7*7 }}{% raw %}")).body
    assert "Thanks, {{ 7*7 }}{% raw %}!" in body
    assert "49" not in body


def test_nbsp_and_curly_quotes_are_cleaned_so_the_text_stays_gsm7(tmp_path: Path) -> None:
    renderer = renderer_with(tmp_path, {"en/note": "It’s\xa0time — “now”…"})
    rendered = renderer.render("note", "en", patient=Patient("Ana"))
    assert rendered.body == 'It\'s time - "now"...'
    assert rendered.measure.encoding == "GSM-7"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Hi  there \n", "Hi there"),
        ("Hi\t\tthere", "Hi there"),
        ("Hi\u2009there\u200b", "Hi there"),
        ("one\n\n\n\ntwo", "one\n\ntwo"),
        ("one  \n   two", "one\ntwo"),
        ("‘a’ “b” – c", "'a' \"b\" - c"),
    ],
)
def test_clean_single_spaces_lines_and_replaces_ucs2_punctuation(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_an_unknown_language_raises_a_template_error(shipped: Renderer) -> None:
    with pytest.raises(TemplateError, match="'fr'"):
        shipped.render("help", "fr")


@pytest.mark.parametrize("name", ["nonexistent", "../en/help", "on_call.txt"])
def test_an_unknown_template_raises_a_template_error(shipped: Renderer, name: str) -> None:
    with pytest.raises(TemplateError, match="no such template"):
        shipped.render(name, "en")


def test_a_staff_only_template_has_no_spanish_version(shipped: Renderer) -> None:
    with pytest.raises(TemplateError, match="sms/es/on_call"):
        shipped.render("on_call", "es", patient_ref="P-1042", reason="open sore")


def test_it_lists_the_shipped_languages_and_templates(shipped: Renderer) -> None:
    assert shipped.languages() == ["en", "es"]
    assert {"consent", "session", "foot_check", "unknown", "on_call"} <= set(shipped.templates())
    assert shipped.templates() == sorted(shipped.templates())


@pytest.mark.parametrize(
    ("language", "exercises"),
    [
        ("en", ["seated calf stretch", "heel raises", "marching in place", "ankle circles"] * 2),
        ("en", ["standing balance with support", "seated hamstring stretch", "toe taps"]),
        ("es", ["elevación de talones", "círculos de tobillo", "marcha en el sitio"] * 2),
        ("es", ["estiramiento de pantorrilla", "elevación de talones", "equilibrio"]),
        ("es", ["círculos", "puntas", "talones", "marcha", "equilibrio", "caminar"]),
    ],
)
def test_a_long_exercise_list_still_fits_two_segments(
    shipped: Renderer, language: str, exercises: list[str]
) -> None:
    patient = Patient("Guadalupe")
    rendered = shipped.render("exercise", language, patient=patient, exercises=exercises)
    assert rendered.measure.segments <= 2, rendered.body
