"""Marking a session (from Today and from the patient page) and moving one to a new time
(from the patient page). The rules and what follows a mark or a move are in
outreach/sessions/; these routes read the form and say what happened."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from outreach.rules.errors import ConfigError
from outreach.rules.localtime import parse_hhmm
from outreach.rules.readabletime import readable_time
from outreach.rules.vocabulary import Attendance
from outreach.sessions import attendance, moves
from outreach.sessions.attendance import Marked
from outreach.staff import sessions as sessionview
from outreach.web.admin.auth import local_path
from outreach.web.admin.pages import flash
from outreach.web.deps import CurrentUser, EngineDep, NowDep, PagesDep, SettingsDep, find_patient

router = APIRouter()


def said(marked: Marked) -> str:
    """What a mark did, in a sentence for staff."""
    if marked.was == marked.mark:
        return f"It was already marked {marked.mark.word}."
    was = "" if marked.was is None else f" (was {Attendance(marked.was).word})"
    words = [f"Marked {marked.mark.word}{was}."]
    if marked.mark.cancels:
        words.append("Its reminders will not be sent.")
    if marked.no_show_text:
        words.append("The patient will get the no-show text today.")
    if marked.escalated:
        words.append(f"{marked.escalated} no-shows in a row: a routine escalation was raised.")
    return " ".join(words)


@router.post("/sessions/{appointment_id}/mark", response_class=HTMLResponse)
async def mark_session(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    pages: PagesDep,
    appointment_id: int,
    mark: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        given = Attendance(mark)
    except ValueError:
        message = "Choose a mark: attended, no-show, or cancelled by the patient or the clinic."
    else:
        try:
            marked = await run_in_threadpool(
                attendance.mark, engine, settings, staff, appointment_id, given, now
            )
            message = said(marked)
        except attendance.NotMarked as exc:
            message = f"Not marked: {exc}."
    if request.headers.get("HX-Request") == "true":
        # Today redraws the row; a refusal is shown in it (htmx swaps no 4xx answer).
        row = await run_in_threadpool(sessionview.session_row, engine, appointment_id)
        if row is None:
            return HTMLResponse(f"<tr><td colspan='5'>{escape(message)}</td></tr>")
        context = {"s": row, "message": message, "marks_for": sessionview.marks_for}
        return pages.render(request, "_session_row.html", context)
    flash(request, message)
    return RedirectResponse(local_path(next), status_code=303)


@router.post("/patients/{external_id}/sessions/{appointment_id}/move")
async def move_session(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    now: NowDep,
    external_id: str,
    appointment_id: int,
    move_date: Annotated[str, Form()] = "",
    move_time: Annotated[str, Form()] = "",
) -> Response:
    patient = await run_in_threadpool(find_patient, engine, external_id)
    back = RedirectResponse(f"/patients/{external_id}#sessions", status_code=303)
    try:
        day = date.fromisoformat(move_date.strip())
        at = parse_hhmm(move_time, "time")
    except (ValueError, ConfigError):
        flash(request, "Not moved: give the new date (YYYY-MM-DD) and time (HH:MM, 24-hour).")
        return back
    try:
        owner = await run_in_threadpool(sessionview.session_row, engine, appointment_id)
        if owner is None or owner.patient_id != patient["patient_id"]:
            raise moves.NotMoved(f"{external_id} has no session with id {appointment_id}")
        moved = await run_in_threadpool(
            moves.move, engine, settings, staff, appointment_id, day, at, now
        )
    except moves.NotMoved as exc:
        flash(request, f"Not moved: {exc}.")
        return back
    fmt = "%a %d %b %H:%M"
    old = readable_time(moved.old_starts_at, moved.timezone, fmt)
    new = readable_time(moved.new_starts_at, moved.timezone, fmt)
    texted = " The patient will be texted the new time." if moved.texted else ""
    flash(request, f"Moved the session of {old} to {new}.{texted}")
    return back
