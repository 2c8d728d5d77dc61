"""Try a reply: what the rules make of a text a patient might send, for clinicians
reviewing the rules. The same reading as `outreach replies try`; nothing is written."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from outreach.config import LANGUAGES, Settings
from outreach.replies import trial as replytry
from outreach.rules.reasonwords import reason_words
from outreach.rules.replies.conversation import default_rules
from outreach.rules.vocabulary import Question
from outreach.texts.render import Renderer, TemplateError
from outreach.web.admin.pages import Pages
from outreach.web.deps import PagesDep, RendererDep, SettingsDep

router = APIRouter()

LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
BLANK_FORM: dict[str, list[str]] = {"lang": ["en"]}


def _render(
    request: Request,
    pages: Pages,
    fields: dict[str, list[str]],
    errors: dict[str, list[str]] | None = None,
    result: dict[str, Any] | None = None,
    problem: str = "",
    status_code: int = 200,
) -> Response:
    asked = fields.get("asked", [])
    context = {
        "fields": {name: values[0] if values else "" for name, values in fields.items()},
        # One select per open question, most recent first, each keeping its choice.
        "asked": [asked[i] if i < len(asked) else "" for i in range(len(tuple(Question)))],
        "kinds": tuple(Question),
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES],
        "errors": errors or {},
        "result": result,
        "reasons": _reasons(result),
        "problem": problem,
    }
    return pages.render(request, "replies_try.html", context, status_code=status_code)


def _reasons(result: dict[str, Any] | None) -> list[str]:
    escalation = (result or {}).get("escalation")
    return [reason_words(reason) for reason in escalation["reasons"]] if escalation else []


@router.get("/replies/try")
def try_form(request: Request, pages: PagesDep) -> Response:
    return _render(request, pages, BLANK_FORM)


@router.post("/replies/try")
async def try_reply(
    request: Request, settings: SettingsDep, renderer: RendererDep, pages: PagesDep
) -> Response:
    form = await request.form()
    fields = {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}
    trial = replytry.from_form(fields)
    if isinstance(trial, dict):
        return _render(request, pages, fields, errors=trial, status_code=422)
    try:
        result = await run_in_threadpool(_attempt, settings, renderer, trial)
    except TemplateError as exc:  # the clinic's templates are broken, not the form
        problem = f"The text back could not be rendered: {exc}"
        return _render(request, pages, fields, problem=problem, status_code=500)
    return _render(request, pages, fields, result=result)


def _attempt(settings: Settings, renderer: Renderer, trial: replytry.Trial) -> dict[str, Any]:
    # The rules inbound replies are read with (loaded once per process).
    rules = default_rules(settings.templates_dir / "replies")
    return replytry.attempt(trial, renderer, rules)
