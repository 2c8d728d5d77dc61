from pathlib import Path

import pytest

from outreach.config import Settings
from outreach.texts.render import Renderer
from outreach.texts.templatecheck import (
    SamplePatient,
    check_templates,
    has_problems,
    labels,
    sample_context,
    segment_budget,
)

GOOD = "{{ clinic.short }}: Thanks, {{ patient.first_name }}!"
SETTINGS = Settings(clinic_short_name="Riverside PT")


def renderer_with(tmp_path: Path, files: dict[str, str]) -> Renderer:
    for name, text in files.items():
        path = tmp_path / "sms" / f"{name}.txt.j2"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Renderer(tmp_path, SETTINGS)


def test_the_shipped_templates_all_pass() -> None:
    settings = Settings()
    rows = check_templates(Renderer(settings.templates_dir, settings))
    assert [(row.template, row.language, row.problems) for row in rows if row.problems] == []
    assert not has_problems(rows)
    assert all(1 <= row.segments <= segment_budget(row.template) for row in rows)


def test_only_the_consent_text_has_a_budget_over_two_segments_and_english_keeps_two() -> None:
    settings = Settings()
    rows = check_templates(Renderer(settings.templates_dir, settings))
    assert {row.template for row in rows if segment_budget(row.template) != 2} == {"consent"}
    assert segment_budget("consent") == 4
    english = next(row for row in rows if (row.template, row.language) == ("consent", "en"))
    assert (english.encoding, english.segments) == ("GSM-7", 2)


def test_a_consent_text_over_its_budget_is_reported_with_that_budget(tmp_path: Path) -> None:
    long = "{{ clinic.short }}: ¿Acepta? " + "Responda SÍ para aceptar. " * 12
    rows = check_templates(renderer_with(tmp_path, {"es/consent": long}))
    assert rows[0].problems == ("too long: 5 segments (UCS-2), limit 4",)


def test_an_accented_first_name_keeps_every_shipped_template_within_its_budget() -> None:
    # One "í" switches a whole text to UCS-2 (70 a segment), so names stay out of long texts.
    settings = Settings()
    renderer = Renderer(settings.templates_dir, settings)
    for template in renderer.templates():
        for language in renderer.languages():
            if not renderer.has_template(template, language):
                continue
            for label in labels(template):
                context = sample_context(label, language)
                if "patient" in context:
                    context["patient"] = SamplePatient("María Guadalupe")
                rendered = renderer.render(template, language, **context)
                assert rendered.measure.segments <= segment_budget(template), (
                    label,
                    language,
                    rendered.body,
                )


def test_the_shipped_templates_cover_both_languages_and_every_unknown_prompt() -> None:
    settings = Settings()
    checked = {
        (row.template, row.language)
        for row in check_templates(Renderer(settings.templates_dir, settings))
    }
    for template in [
        "consent",
        "session",
        "foot_check",
        "foot_followup",
        "exercise",
        "help",
        "opted_out",
    ]:
        assert {(template, "en"), (template, "es")} <= checked
    assert ("unknown[foot_followup]", "es") in checked
    assert ("unknown[none]", "en") in checked
    assert ("on_call", "en") in checked
    assert ("on_call", "es") not in checked


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{{ clinic.short }}: Hi {{ patient.nickname }}", "missing variable"),
        ("{{ clinic.short }}: See you {{ starts_at|day }}", "'starts_at' is undefined"),
        ("{{ clinic.short }}: Today: {{ exercises|exercise_list }}", "'exercises' is undefined"),
        ("{{ clinic.short }}: {% if %}", "syntax error"),
        ("{{ clinic.short }}: " + "Please check your feet. " * 20, "too long: 4 segments"),
        ("{{ clinic.short }}: How is your neuropathy today?", "diagnosis word: neuropathy"),
        ("{{ clinic.short }}: Reply C to confirm or CANCEL to cancel.", "offers CANCEL"),
        ("Hi {{ patient.first_name }}!", "does not start with 'Riverside PT: '"),
    ],
)
def test_a_broken_template_is_reported_with_its_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    rows = check_templates(renderer_with(tmp_path, {"en/foot_ok": text, "es/foot_ok": GOOD}))
    broken = next(row for row in rows if row.language == "en")
    assert any(problem in found for found in broken.problems), broken.problems
    assert has_problems(rows)
    assert next(row for row in rows if row.language == "es").problems == ()


def test_a_missing_translation_is_reported(tmp_path: Path) -> None:
    rows = check_templates(renderer_with(tmp_path, {"en/foot_ok": GOOD, "es/exercise_done": GOOD}))
    missing = {(row.template, row.language): row.problems for row in rows if row.problems}
    assert missing == {
        ("foot_ok", "es"): ("missing translation: no sms/es/foot_ok.txt.j2",),
        ("exercise_done", "en"): ("missing translation: no sms/en/exercise_done.txt.j2",),
    }


def test_a_staff_only_template_needs_no_translation(tmp_path: Path) -> None:
    on_call = "{{ clinic.short }}: URGENT: {{ patient_ref }}, {{ reason }}. Call today."
    rows = check_templates(renderer_with(tmp_path, {"en/on_call": on_call, "es/foot_ok": GOOD}))
    assert [(row.template, row.language) for row in rows if row.template == "on_call"] == [
        ("on_call", "en")
    ]
    assert not any(row.problems for row in rows if row.template == "on_call")


def test_a_row_carries_the_body_and_its_measure(tmp_path: Path) -> None:
    rows = check_templates(renderer_with(tmp_path, {"en/foot_ok": GOOD}))
    assert [(row.body, row.characters, row.encoding, row.segments) for row in rows] == [
        ("Riverside PT: Thanks, Guadalupe!", 32, "GSM-7", 1)
    ]


@pytest.mark.parametrize(
    ("template", "keys"),
    [
        ("help", set()),
        ("foot_check", {"patient"}),
        ("session", {"patient", "starts_at"}),
        ("exercise", {"patient", "exercises"}),
        ("on_call", {"patient_ref", "reason", "severity"}),
        ("unknown[session]", {"prompt"}),
    ],
)
def test_sample_context_passes_what_the_caller_passes(template: str, keys: set[str]) -> None:
    assert set(sample_context(template, "en")) == keys


def test_sample_context_reads_the_unknown_prompt_from_the_label() -> None:
    assert sample_context("unknown[foot_followup]", "es") == {"prompt": "foot_followup"}
    assert sample_context("unknown[none]", "es") == {"prompt": None}
    assert len(sample_context("exercise", "es")["exercises"]) == 6
    assert sample_context("session", "en")["starts_at"].tzinfo is not None
