"""Quick replies: canned texts staff start from, kept in the database and edited by admins in
the admin. Rendered in the same sandboxed Jinja2 environment as the reminders (StrictUndefined:
a misspelt variable is an error, never a blank), with the patient's first name and the clinic.

Admins write these in a form, so they are not trusted like the template files: the sandbox
stops a template from reaching Python's internals, and a length cap bounds the work.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2

from outreach.rules.plaintext import has_control_characters
from outreach.texts.render import PrivacyError, Rendered, Renderer, TemplateError

MAX_SOURCE = 1000
# What a quick reply may use, shown beside the form.
VARIABLES = ("patient.first_name", "clinic.name", "clinic.short", "clinic.phone")
# The values a quick reply is checked with when it is saved.
SAMPLE_FIRST_NAME = {"en": "Maria", "es": "María"}


@dataclass(frozen=True)
class Sample:
    first_name: str


def render_quick(renderer: Renderer, source: str, language: str, first_name: str) -> Rendered:
    """The quick reply for one patient; TemplateError (PrivacyError included) if it fails."""
    if len(source) > MAX_SOURCE:
        raise TemplateError(f"a quick reply is at most {MAX_SOURCE} characters")
    env = renderer.environment(language, "quick reply")
    try:
        template = env.from_string(source)
        text = template.render(patient=Sample(first_name), clinic=renderer.clinic)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"line {exc.lineno}: syntax error: {exc.message}") from exc
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"unknown value: {exc.message}") from exc
    except jinja2.TemplateError as exc:  # the sandbox refused something
        raise TemplateError(str(exc)) from exc
    return renderer.finish("quick", language, text)


def quick_problem(renderer: Renderer, source: str, language: str) -> str | None:
    """What is wrong with a quick reply an admin typed, in words; None if it renders."""
    if not source.strip():
        return "the text is empty"
    if has_control_characters(source, allowed="\n\r"):
        return "the text holds control characters (pasted from another program?); retype it"
    try:
        render_quick(renderer, source, language, SAMPLE_FIRST_NAME.get(language, "Maria"))
    except PrivacyError as exc:
        return f"it names a diagnosis ({', '.join(exc.words)}); texts are not private"
    except TemplateError as exc:
        return str(exc)
    return None
