"""The waitlist page: who is on it and when they could come, the form to put a patient on
it, and the slots still ahead with who was offered each and who took it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from outreach.db.tables import patients
from outreach.sessions import waitlist, waitlist_board
from outreach.web.admin.auth import local_path
from outreach.web.admin.pages import Pages, flash
from outreach.web.deps import CurrentUser, EngineDep, NowDep, PagesDep

router = APIRouter()
EMPTY_FORM = {"patient": "", "waitlist_days": "", "waitlist_hours": ""}


def _page(
    request: Request,
    pages: Pages,
    engine: Any,
    now: Any,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    with engine.connect() as conn:
        entries = waitlist.entries(conn)
        slots = waitlist_board.slots(conn, now)
    context = {
        "entries": entries,
        "slots": slots,
        "form": form or EMPTY_FORM,
        "errors": errors or {},
    }
    return pages.render(request, "waitlist.html", context, status_code=status_code)


@router.get("/waitlist", response_class=HTMLResponse)
def waitlist_page(
    request: Request, staff: CurrentUser, engine: EngineDep, pages: PagesDep, now: NowDep
) -> Response:
    return _page(request, pages, engine, now)


def _patient_id(conn: Any, external_id: str) -> int | None:
    if "\x00" in external_id:  # no patient id holds a NUL, and PostgreSQL refuses to look
        return None
    found = conn.execute(
        select(patients.c.id).where(patients.c.external_id == external_id.strip())
    ).scalar()
    return None if found is None else int(found)


@router.post("/waitlist")
def put_on_waitlist(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    pages: PagesDep,
    now: NowDep,
    patient: Annotated[str, Form()] = "",
    waitlist_days: Annotated[str, Form()] = "",
    waitlist_hours: Annotated[str, Form()] = "",
) -> Response:
    form = {"patient": patient, "waitlist_days": waitlist_days, "waitlist_hours": waitlist_hours}
    try:
        with engine.begin() as conn:
            patient_id = _patient_id(conn, patient)
            if patient_id is None:
                raise waitlist.WaitlistError("patient", "No patient has that patient id.")
            waitlist.put_on(conn, staff, patient_id, waitlist_days, waitlist_hours, now)
    except waitlist.WaitlistError as exc:
        errors = {exc.field: [str(exc)]}
        return _page(request, pages, engine, now, form, errors, status_code=422)
    flash(request, f"{patient.strip()} is on the waitlist.")
    return RedirectResponse("/waitlist", status_code=303)


@router.post("/waitlist/{external_id}/remove")
def take_off_waitlist(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    now: NowDep,
    external_id: str,
    next: Annotated[str, Form()] = "/waitlist",
) -> Response:
    with engine.begin() as conn:
        patient_id = _patient_id(conn, external_id)
        removed = patient_id is not None and waitlist.take_off(conn, staff, patient_id, now)
    flash(request, f"{external_id} is off the waitlist." if removed else "Already off the list.")
    return RedirectResponse(local_path(next), status_code=303)
