"""The buttons on a patient's page: add a session, pause or resume, and record an opt-out
the patient asked for in person or by phone. Marking and moving a session: sessions.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outreach.accounts.users import Staff
from outreach.config import Settings
from outreach.patients import edits as patientedit
from outreach.web.admin.pages import flash
from outreach.web.admin.patients import page_context
from outreach.web.deps import (
    CurrentUser,
    EngineDep,
    NowDep,
    PagesDep,
    SettingsDep,
    find_patient,
)

router = APIRouter()


@router.post("/patients/{external_id}/sessions")
async def add_session(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    pages: PagesDep,
    external_id: str,
) -> Response:
    form = await request.form()
    values = {key: str(form.get(key) or "") for key in ("session_date", "session_time")}
    errors = await run_in_threadpool(
        patientedit.add_session,
        engine,
        settings,
        staff,
        external_id,
        values["session_date"],
        values["session_time"],
        now,
    )
    if errors:
        # The patient page again, with the add-session form showing what was typed and why.
        patient = await run_in_threadpool(find_patient, engine, external_id)
        context = await run_in_threadpool(page_context, engine, settings, now, patient)
        context.update({"session_errors": errors, "session_values": values})
        return pages.render(request, "patient.html", context, status_code=422)
    flash(request, f"Session added on {values['session_date']} at {values['session_time']}.")
    return RedirectResponse(f"/patients/{external_id}#sessions", status_code=303)


async def _set_paused(
    request: Request,
    engine: EngineDep,
    settings: Settings,
    staff: Staff,
    now: NowDep,
    external_id: str,
    paused: bool,
) -> Response:
    changed = await run_in_threadpool(
        patientedit.set_paused, engine, settings, staff, external_id, paused, now
    )
    if paused:
        message = "Paused: nothing more will be sent until you resume."
        if not changed:
            message = "This patient was already paused."
    else:
        message = "Resumed: reminders are planned again from now."
        if not changed:
            message = "This patient was not paused."
    flash(request, message)
    return RedirectResponse(f"/patients/{external_id}", status_code=303)


@router.post("/patients/{external_id}/pause")
async def pause(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    external_id: str,
) -> Response:
    return await _set_paused(request, engine, settings, staff, now, external_id, True)


@router.post("/patients/{external_id}/resume")
async def resume(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    external_id: str,
) -> Response:
    return await _set_paused(request, engine, settings, staff, now, external_id, False)


@router.post("/patients/{external_id}/opt-out")
async def opt_out(
    request: Request, staff: CurrentUser, engine: EngineDep, now: NowDep, external_id: str
) -> Response:
    form = await request.form()
    reason = form.get("reason")
    text = reason.replace("\x00", "") if isinstance(reason, str) else ""
    changed = await run_in_threadpool(
        patientedit.record_opt_out, engine, staff, external_id, text, now
    )
    flash(
        request,
        "Opted out: nothing more will be sent. Only the patient can opt back in, by texting START."
        if changed
        else "This patient had already opted out.",
    )
    return RedirectResponse(f"/patients/{external_id}", status_code=303)
