"""Texting a patient from the admin: the reply box (on the inbox's conversation and on the
patient page), its live count of characters, encoding and segments (the same measure as
`outreach templates check`), quick replies filled in for the patient, and the send itself,
which puts the text in the outbox or says why it may not go."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from outreach.inbox import quickreplies, texting
from outreach.inbox.texting import Refused
from outreach.rules.stafftexts import MAX_CHARS
from outreach.texts.quick import render_quick
from outreach.texts.render import TemplateError, clean
from outreach.texts.smslength import measure
from outreach.web.admin.auth import local_path
from outreach.web.admin.formvalues import row_id
from outreach.web.admin.pages import Pages, flash
from outreach.web.deps import (
    CurrentUser,
    EngineDep,
    NowDep,
    PagesDep,
    PatientDep,
    RendererDep,
    SettingsDep,
)

router = APIRouter()


def reply_context(
    engine: Engine,
    patient: dict[str, Any],
    body: str = "",
    error: str = "",
    sent: texting.Queued | None = None,
) -> dict[str, Any]:
    with engine.connect() as conn:
        quick = quickreplies.all_replies(conn, patient["language"])
    return {
        "patient": patient,
        "refusal": texting.why_not(engine, patient["id"]),
        "quick_replies": quick,
        "body": body,
        "error": error,
        "sent": sent,
        "token": secrets.token_urlsafe(16),  # a Send clicked twice texts once
        "measured": measure(clean(body)),
        "max_chars": MAX_CHARS,
    }


def _reply_form(request: Request, pages: Pages, context: dict[str, Any]) -> Response:
    """The reply box alone. Always 200, a refusal too: htmx swaps in no 4xx answer."""
    return pages.render(request, "_reply_form.html", context)


@router.get("/patients/{external_id}/reply", response_class=HTMLResponse)
def reply_form(
    request: Request, engine: EngineDep, pages: PagesDep, patient: PatientDep
) -> Response:
    """The reply box alone: the patient page loads it into its first screen."""
    return _reply_form(request, pages, reply_context(engine, patient))


@router.post("/patients/{external_id}/texts")
async def send_text(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    pages: PagesDep,
    now: NowDep,
    patient: PatientDep,
    body: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Without JavaScript the form posts here and comes back to `next`; with htmx only the
    reply box is swapped, keeping the text typed when it was refused."""
    htmx = request.headers.get("HX-Request") == "true"
    try:
        queued = await run_in_threadpool(
            texting.send, engine, settings, staff, patient["patient_id"], body, now,
            token=token[:64] or None,
        )  # fmt: skip
    except Refused as exc:
        error = f"Not sent: {exc}."
        if htmx:  # 200: htmx swaps in no 4xx answer, and staff must read why
            return _reply_form(request, pages, reply_context(engine, patient, body, error=error))
        flash(request, error)
        return RedirectResponse(local_path(next, f"/inbox/{patient['patient_id']}"), 303)
    if htmx:
        return _reply_form(request, pages, reply_context(engine, patient, sent=queued))
    words = (
        "Text queued: it waits for the end of the patient's quiet hours."
        if queued.waits
        else "Text queued: it goes out now."
    )
    flash(request, words)
    return RedirectResponse(local_path(next, f"/inbox/{patient['patient_id']}"), 303)


@router.post("/patients/{external_id}/quick-reply", response_class=HTMLResponse)
def fill_quick_reply(
    request: Request,
    engine: EngineDep,
    renderer: RendererDep,
    pages: PagesDep,
    patient: PatientDep,
    reply_id: Annotated[str, Form()] = "",
) -> Response:
    """The reply box with a quick reply filled in for this patient, to read and edit
    before sending."""
    chosen_id = row_id(reply_id)
    with engine.connect() as conn:
        chosen = None if chosen_id is None else quickreplies.find(conn, chosen_id)
    if chosen is None:
        context = reply_context(engine, patient, error="That quick reply no longer exists.")
        return _reply_form(request, pages, context)
    first_name = str(patient["name"]).split(" ")[0]
    try:
        body = render_quick(renderer, chosen.body, chosen.language, first_name).body
    except TemplateError as exc:
        context = reply_context(engine, patient, error=f"That quick reply is broken: {exc}")
        return _reply_form(request, pages, context)
    return _reply_form(request, pages, reply_context(engine, patient, body))


@router.post("/texts/measure", response_class=HTMLResponse)
def measure_text(request: Request, pages: PagesDep, body: Annotated[str, Form()] = "") -> Response:
    """The reply box's counter, as `outreach templates check` measures a text."""
    context = {"measured": measure(clean(body)), "max_chars": MAX_CHARS}
    return pages.render(request, "_text_measure.html", context)
