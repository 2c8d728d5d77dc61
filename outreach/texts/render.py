"""The render step: a template and its values become a clean, measured, private text.

Template files are ours and trusted; the values passed in are patient or staff data and are
only ever inserted as plain text (never compiled as a template).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from outreach.config import Settings
from outreach.rules.phones import readable_phone
from outreach.rules.privacy import diagnosis_words
from outreach.rules.schedule import exercise_names
from outreach.rules.stafftexts import STAFF_TEMPLATE
from outreach.texts.smslength import SmsMeasure, measure

SUFFIX = ".txt.j2"
# Texts to the clinic's own on-call phone: English only, so no translation is expected.
STAFF_ONLY = frozenset({"on_call"})


class TemplateError(Exception):
    """A template is unknown, has a syntax error or needs a value that was not passed."""


class PrivacyError(TemplateError):
    """The rendered text would disclose a diagnosis to whoever sees the phone."""

    def __init__(self, message: str, words: list[str], rendered: Rendered) -> None:
        super().__init__(message)
        self.words = words
        self.rendered = rendered


@dataclass(frozen=True)
class Clinic:
    name: str
    short: str
    phone: str


@dataclass(frozen=True)
class Rendered:
    template: str
    language: str
    body: str
    measure: SmsMeasure


# Each of these is outside GSM-7: one of them switches the whole text to UCS-2, which cuts
# a segment from 160 to 70 characters and doubles the cost. Word processors and phone
# keyboards insert them without asking, so they turn up in pasted names and edited files.
_TO_ASCII = {"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "–": "-", "—": "-"}
_INVISIBLE = "\u00ad\u200b\u2060\ufeff"  # soft hyphen, zero-width space, word joiner, BOM
_GSM_FRIENDLY = str.maketrans({**_TO_ASCII, "…": "...", "\t": " ", **dict.fromkeys(_INVISIBLE)})


def clean(text: str) -> str:
    """Strip, turn every kind of space (NBSP included) into ' ', single-space each line,
    keep at most one blank line in a row, and swap typographic punctuation for ASCII."""
    text = text.translate(_GSM_FRIENDLY)
    text = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text)
    lines = [re.sub(" {2,}", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def as_written(body: str, language: str) -> Rendered:
    """A text a person wrote, cleaned and measured like a rendered one (template "staff")."""
    text = clean(body)
    return Rendered(STAFF_TEMPLATE, language, text, measure(text))


@dataclass(frozen=True)
class TextFormat:
    """How one language writes a date, a time and a short list. No babel: two tables do."""

    weekdays: str  # space-separated, Monday first
    months: str
    day_pattern: str
    twelve_hour: bool
    and_word: str
    one_more: str  # what stands for one name left out
    more: str  # ... and for {n} of them


FORMATS = {
    "en": TextFormat(
        weekdays="Mon Tue Wed Thu Fri Sat Sun",
        months="Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
        day_pattern="{weekday} {month} {day}",
        twelve_hour=True,
        and_word="and",
        one_more="1 more",
        more="{n} more",
    ),
    # Days and months in full: "mar" is Tuesday, March and the sea. The á of "sábado"
    # switches a text to UCS-2 (the é of "miércoles" is GSM-7); the longest date, "sábado 30
    # de septiembre", still keeps the session reminder within 2 segments.
    "es": TextFormat(
        weekdays="lunes martes miércoles jueves viernes sábado domingo",
        months="enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre"
        " diciembre",
        day_pattern="{weekday} {day} de {month}",
        twelve_hour=False,
        and_word="y",
        # "y otros 4" rather than "y 4 más": one á switches the whole text to UCS-2.
        one_more="otro",
        more="otros {n}",
    ),
}


def _aware(value: object, filter_name: str) -> datetime:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here, naming the variable that was not passed
    # Callers convert to the patient's zone first; a naive value means someone forgot.
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise jinja2.TemplateRuntimeError(f"{filter_name} needs an aware datetime, got {value!r}")
    return value


def day(fmt: TextFormat, value: object) -> str:
    """en 'Mon Nov 23', es 'lunes 23 de noviembre', from the datetime's own wall clock."""
    when = _aware(value, "day")
    weekday, month = fmt.weekdays.split()[when.weekday()], fmt.months.split()[when.month - 1]
    return fmt.day_pattern.format(weekday=weekday, month=month, day=when.day)


def clock(fmt: TextFormat, value: object) -> str:
    """en '9:30 AM', es '9:30' (24-hour)."""
    when = _aware(value, "clock")
    if not fmt.twelve_hour:
        return f"{when.hour}:{when.minute:02d}"
    return f"{(when.hour - 1) % 12 + 1}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"


def exercise_list(
    fmt: TextFormat, items: str | Iterable[str], limit: int = 3, budget: int | None = None
) -> str:
    """'calf stretch, heel raises and marching'; past `limit` names, or past `budget`
    characters, the rest are counted: 'and 4 more' (at least one name is always shown)."""
    # A plan stores one name per line.
    names = list(
        exercise_names(items, per_line=True)
        if isinstance(items, str)
        else (name.strip() for name in items if name.strip())
    )
    for count in range(min(limit, len(names)), 0, -1):
        left = len(names) - count
        shown = names[:count] + (
            [fmt.more.format(n=left) if left > 1 else fmt.one_more] if left else []
        )
        text = f"{', '.join(shown[:-1])} {fmt.and_word} {shown[-1]}" if len(shown) > 1 else shown[0]
        if budget is None or len(text) <= budget or count == 1:
            return text
    return ""


def _environment(folder: Path, fmt: TextFormat) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        day=partial(day, fmt), clock=partial(clock, fmt), exercise_list=partial(exercise_list, fmt)
    )
    return env


class Renderer:
    def __init__(self, templates_dir: Path, settings: Settings) -> None:
        self.root = templates_dir / "sms"
        self.settings = settings
        self.clinic = Clinic(
            name=settings.clinic_name,
            short=settings.clinic_short_name,
            phone=readable_phone(settings.clinic_phone),
        )
        self._environments: dict[str, SandboxedEnvironment] = {}

    def languages(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(path.name for path in self.root.iterdir() if path.is_dir())

    def templates(self) -> list[str]:
        return sorted(
            {
                path.name.removesuffix(SUFFIX)
                for language in self.languages()
                for path in (self.root / language).glob(f"*{SUFFIX}")
            }
        )

    def has_template(self, template: str, language: str) -> bool:
        return (self.root / language / f"{template}{SUFFIX}").is_file()

    def render(self, template: str, language: str, **context: Any) -> Rendered:
        where = f"sms/{language}/{template}{SUFFIX}"
        env = self._environment_for(language, where)
        if not re.fullmatch(r"[a-z0-9_]+", template) or not self.has_template(template, language):
            raise TemplateError(f"{where}: no such template")
        values = {
            **context,
            "clinic": self.clinic,
            "daily_cap": self.settings.daily_cap,
            "emergency_number": self.settings.emergency_number,
        }
        try:
            text = env.get_template(f"{template}{SUFFIX}").render(values)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{where} line {exc.lineno}: syntax error: {exc.message}") from exc
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{where}: missing variable: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{where}: {exc}") from exc
        return self.finish(template, language, text, where)

    def finish(self, template: str, language: str, text: str, where: str = "") -> Rendered:
        """Clean and measure a rendered text; PrivacyError if it names a diagnosis."""
        body = clean(text)
        rendered = Rendered(template, language, body, measure(body))
        words = diagnosis_words(body)
        if words:
            raise PrivacyError(
                f"{where or template}: the text would disclose a diagnosis ({', '.join(words)})",
                words,
                rendered,
            )
        return rendered

    def environment(self, language: str, where: str) -> SandboxedEnvironment:
        """The sandboxed environment of one language's templates (its date and list
        formats); TemplateError if the language has none."""
        return self._environment_for(language, where)

    def _environment_for(self, language: str, where: str) -> SandboxedEnvironment:
        if language not in self._environments:
            if language not in self.languages():
                have = ", ".join(self.languages()) or "none"
                raise TemplateError(f"{where}: no templates for language {language!r} ({have})")
            if language not in FORMATS:
                raise TemplateError(f"{where}: no date and list formats for {language!r} yet")
            self._environments[language] = _environment(self.root / language, FORMATS[language])
        return self._environments[language]
