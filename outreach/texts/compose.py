"""One text from several templates: what a patient gets back when a reply's outcome names
more than one template, the most important first, within MAX_SEGMENTS."""

from __future__ import annotations

from typing import Any

from outreach.texts.render import Rendered, Renderer
from outreach.texts.smslength import measure
from outreach.texts.templatecheck import MAX_SEGMENTS


def compose(
    renderer: Renderer, templates: tuple[str, ...], language: str, context: dict[str, Any]
) -> Rendered:
    """One text from the outcome's templates, the most important first. Each later part
    is added without its clinic name while the whole still fits in MAX_SEGMENTS."""
    first = renderer.render(templates[0], language, **context)
    body = first.body
    prefix = f"{renderer.clinic.short}: "
    for template in templates[1:]:
        part = renderer.render(template, language, **context).body.removeprefix(prefix)
        joined = f"{body} {part}"
        if measure(joined).segments > MAX_SEGMENTS:
            break
        body = joined
    return Rendered(first.template, language, body, measure(body))
