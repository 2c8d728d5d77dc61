"""Escalations: the filtered list, one escalation with the exchange that raised it, and the
acknowledge and resolve buttons (plain form posts, or htmx swapping the row in place)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.staff import escalations
from outreach.staff.escalations import Acted, EscalationView, NoteError, NotFound
from outreach.staff.messagelog import LogRow, MessageFilter, exchange, message_log
from outreach.web.admin.auth import CurrentUser, local_path
from outreach.web.admin.pages import flash, pages, since

router = APIRouter()
LATEST = 10  # texts both ways on the page of an escalation no reply raised

STATE_OPTIONS = [(state, state.capitalize()) for state in escalations.STATES]
SEVERITY_OPTIONS = [("", "Any"), *[(s, s.capitalize()) for s in escalations.SEVERITIES]]
# What the row template needs besides the row: how long a time to first action took.
ROW_HELPERS = {"duration": since}


@router.get("/escalations", response_class=HTMLResponse)
def escalation_list(request: Request, state: str = "open", severity: str = "") -> Response:
    errors: dict[str, list[str]] = {}
    if state not in escalations.STATES:
        errors["state"] = [f"Choose open, acknowledged, resolved or all; not {state[:40]!r}."]
    if severity and severity not in escalations.SEVERITIES:
        errors["severity"] = [f"Choose {_one_of(escalations.SEVERITIES)}; not {severity[:40]!r}."]
    rows = [] if errors else escalations.listing(request.app.state.engine, state, severity or None)
    context = {
        **ROW_HELPERS,
        "rows": rows,
        "state": state,
        "severity": severity,
        "errors": errors,
        "state_options": STATE_OPTIONS,
        "severity_options": SEVERITY_OPTIONS,
        "here": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    }
    return pages(request).render(
        request, "escalations.html", context, status_code=422 if errors else 200
    )


@router.get("/escalations/{escalation_id}", response_class=HTMLResponse)
def escalation_page(request: Request, escalation_id: int) -> Response:
    return _detail(request, _find(request, escalation_id))


@router.post("/escalations/{escalation_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(
    request: Request,
    staff: CurrentUser,
    escalation_id: int,
    next: Annotated[str, Form()] = "",
    layout: Annotated[str, Form()] = "full",
) -> Response:
    state = request.app.state
    try:
        acted = escalations.acknowledge(state.engine, escalation_id, staff, state.clock.now())
    except NotFound:
        raise HTTPException(404) from None
    notice = None if acted.done else _already(request, acted, "acknowledged")
    return _after(request, escalation_id, next, layout, notice)


@router.post("/escalations/{escalation_id}/resolve", response_class=HTMLResponse)
def resolve(
    request: Request,
    staff: CurrentUser,
    escalation_id: int,
    note: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    layout: Annotated[str, Form()] = "full",
) -> Response:
    state = request.app.state
    try:
        acted = escalations.resolve(state.engine, escalation_id, staff, note, state.clock.now())
    except NotFound:
        raise HTTPException(404) from None
    except NoteError as exc:
        errors = {"note": [str(exc)]}
        found = _find(request, escalation_id)
        if _htmx(request):
            return _row(request, found, layout, errors=errors, note=note, status_code=422)
        return _detail(request, found, errors=errors, note=note, status_code=422)
    notice = None if acted.done else _already(request, acted, "resolved")
    return _after(request, escalation_id, next, layout, notice)


def _one_of(values: tuple[str, ...]) -> str:
    return f"{', '.join(values[:-1])} or {values[-1]}"


def _already(request: Request, acted: Acted, what: str) -> str:
    at = pages(request).when(acted.at, "%H:%M") if acted.at else ""
    return f"Already {what} by {acted.by}" + (f" at {at}." if at else ".")


def _after(
    request: Request, escalation_id: int, next: str, layout: str, notice: str | None
) -> Response:
    if _htmx(request):
        return _row(request, _find(request, escalation_id), layout, notice=notice)
    if notice:
        flash(request, notice)
    return RedirectResponse(local_path(next, f"/escalations/{escalation_id}"), status_code=303)


def _htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _find(request: Request, escalation_id: int) -> EscalationView:
    try:
        return escalations.find(request.app.state.engine, escalation_id)
    except NotFound:
        raise HTTPException(404) from None


def _row(
    request: Request,
    row: EscalationView,
    layout: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    values = {
        **ROW_HELPERS,
        "row": row,
        "layout": "today" if layout == "today" else "full",
        **context,
    }
    return pages(request).render(request, "_escalation_row.html", values, status_code=status_code)


def _detail(
    request: Request, row: EscalationView, status_code: int = 200, **context: Any
) -> Response:
    state = request.app.state
    around = exchange(state.engine, row.inbound_id) if row.inbound_id is not None else []
    latest = [] if around else _latest(request, row)
    values = {
        **ROW_HELPERS,
        "row": row,
        "exchange": around,
        "latest": latest,
        "errors": {},
        "note": "",
        **context,
    }
    return pages(request).render(request, "escalation.html", values, status_code=status_code)


def _latest(request: Request, row: EscalationView) -> list[LogRow]:
    state = request.app.state
    wanted = MessageFilter(patient=row.patient_id)
    return message_log(state.engine, wanted, state.settings.clinic_zone, LATEST).rows
