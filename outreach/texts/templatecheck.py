"""The logic behind `outreach templates check`: render every template in every language
with realistic sample data and report what would go wrong on a patient's phone."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from outreach.rules.vocabulary import Severity
from outreach.texts.render import STAFF_ONLY, SUFFIX, PrivacyError, Renderer, TemplateError

MAX_SEGMENTS = 2
# Templates allowed more than MAX_SEGMENTS, each for a reason. The consent text is sent once,
# on enrolment, and must carry everything carriers ask of an opt-in: who, what, how often,
# how to get help, how to stop, and that rates may apply. In Spanish "SÍ" (and "día")
# switch it to UCS-2, 67 characters a part, so it takes 4 parts where English takes 2.
SEGMENT_BUDGETS: dict[str, int] = {"consent": 4}
# The open questions a reply can answer; `unknown` is checked once for each.
PROMPTS = (
    None,
    "consent",
    "session",
    "foot_check",
    "foot_followup",
    "exercise",
    "no_show",
    "slot_offer",
)
# Carriers treat a bare CANCEL as STOP, so offering it as a reply would opt the patient out.
CANCEL = re.compile(r"\bcancel\b", re.IGNORECASE)

# What each caller passes besides `clinic` and `daily_cap`; a template asking for anything
# else would fail in production, so it fails here. Unlisted templates get `patient`.
VARIABLES: dict[str, tuple[str, ...]] = {
    "help": (),
    "opted_out": (),
    "session": ("patient", "starts_at"),
    "session_confirmed": ("patient", "starts_at"),
    "exercise": ("patient", "exercises"),
    "session_moved": ("patient", "starts_at"),
    "slot_offer": ("patient", "starts_at", "until"),
    "slot_gone": ("patient", "starts_at"),
    "slot_taken": ("patient", "starts_at"),
    "unknown": ("prompt",),
    "on_call": ("patient_ref", "reason", "severity"),
}


def segment_budget(template: str) -> int:
    """How many segments one rendering of `template` may take."""
    return SEGMENT_BUDGETS.get(template, MAX_SEGMENTS)


@dataclass(frozen=True)
class SamplePatient:
    first_name: str


# On the long side on purpose: a long first name, six exercises, the longest Spanish date
# ("sábado 27 de septiembre", whose á switches the text to UCS-2) and "elevación".
_STARTS_AT = datetime(2025, 9, 27, 10, 30, tzinfo=ZoneInfo("America/New_York"))
_EXERCISES = {
    "en": [
        "seated calf stretch",
        "heel raises",
        "marching in place",
        "ankle circles",
        "sit to stand",
        "standing balance",
    ],
    "es": [
        "elevación de talones",
        "estiramiento de pantorrilla",
        "marcha en el sitio",
        "círculos de tobillo",
        "sentarse y pararse",
        "equilibrio de pie",
    ],
}


@dataclass(frozen=True)
class CheckRow:
    template: str
    language: str
    characters: int
    encoding: str
    segments: int
    problems: tuple[str, ...]
    body: str


def _split_label(label: str) -> tuple[str, str | None]:
    """'unknown[foot_followup]' -> ('unknown', 'foot_followup'); 'unknown[none]' -> None."""
    name, _, variant = label.partition("[")
    variant = variant.removesuffix("]")
    return name, (None if variant in ("", "none") else variant)


def labels(template: str) -> list[str]:
    if template != "unknown":
        return [template]
    return [f"unknown[{prompt or 'none'}]" for prompt in PROMPTS]


def sample_context(template: str, language: str) -> dict[str, Any]:
    """Realistic values for one template (or one `unknown[prompt]` variant)."""
    name, prompt = _split_label(template)
    samples: dict[str, Any] = {
        "patient": SamplePatient(first_name="Guadalupe"),
        "starts_at": _STARTS_AT,
        "until": _STARTS_AT.replace(hour=8, minute=45),
        "exercises": _EXERCISES.get(language, _EXERCISES["en"]),
        "prompt": prompt,
        "patient_ref": "P-1042",
        "reason": "open sore, bleeding or pus",
        "severity": Severity.EMERGENCY,  # the longer of the two pages
    }
    return {key: samples[key] for key in VARIABLES.get(name, ("patient",))}


def _check(renderer: Renderer, label: str, language: str) -> CheckRow:
    template, _ = _split_label(label)
    problems: list[str] = []
    try:
        rendered = renderer.render(template, language, **sample_context(label, language))
    except PrivacyError as exc:
        rendered = exc.rendered
        problems.append(f"diagnosis word: {', '.join(exc.words)}")
    except TemplateError as exc:
        return CheckRow(label, language, 0, "-", 0, (str(exc),), "")
    body, size = rendered.body, rendered.measure
    if not body:
        problems.append("empty text")
    limit = segment_budget(template)
    if size.segments > limit:
        problems.append(f"too long: {size.segments} segments ({size.encoding}), limit {limit}")
    if CANCEL.search(body):
        problems.append("offers CANCEL as a reply (carriers treat it as STOP)")
    prefix = f"{renderer.clinic.short}: "
    if not body.startswith(prefix):
        problems.append(f"does not start with {prefix!r}")
    return CheckRow(
        label, language, size.characters, size.encoding, size.segments, tuple(problems), body
    )


def check_templates(renderer: Renderer) -> list[CheckRow]:
    """One row per template, language (and `unknown` prompt), in a stable order."""
    rows: list[CheckRow] = []
    for template in renderer.templates():
        for language in renderer.languages():
            if renderer.has_template(template, language):
                rows.extend(_check(renderer, label, language) for label in labels(template))
            elif not (template in STAFF_ONLY and language != "en"):
                problem = f"missing translation: no sms/{language}/{template}{SUFFIX}"
                rows.append(CheckRow(template, language, 0, "-", 0, (problem,), ""))
    return rows


def check_reply_rules(folder: Path) -> list[CheckRow]:
    """One row per reply-rules file (templates/replies/*.rules): its danger signs counted,
    or the error naming its file and line."""
    from outreach.rules.replies.rulefile import RulesError, load

    if not folder.is_dir():
        return [
            CheckRow(f"{folder}", "-", 0, "-", 0, (), "no such folder: the shipped rules apply")
        ]
    try:
        languages = load(folder)
    except RulesError as exc:
        return [CheckRow(f"replies/{folder.name}", "-", 0, "-", 0, (str(exc),), "")]
    return [
        CheckRow(
            f"replies/{language.path.name}",
            code,
            0,
            "rules",
            0,
            (),
            f"{len(language.signs)} danger-sign sections, "
            f"{sum(len(p) for p in language.phrases.values())} other phrases",
        )
        for code, language in languages.items()
    ]


def has_problems(rows: Iterable[CheckRow]) -> bool:
    return any(row.problems for row in rows)
