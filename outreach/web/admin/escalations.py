"""Escalations: the filtered list, one escalation with the exchange that raised it, and the
acknowledge and resolve buttons (plain form posts, or htmx swapping the row in place)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.config import Settings
from outreach.rules.vocabulary import EscalationState
from outreach.staff import escalations
from outreach.staff.escalations import Acted, EscalationView, NoteError
from outreach.staff.exchange import exchange, latest_texts
from outreach.web.admin.auth import local_path
from outreach.web.admin.pages import Pages, flash, since
from outreach.web.deps import (
    ClockDep,
    CurrentUser,
    EngineDep,
    EscalationDep,
    PagesDep,
    SettingsDep,
)

router = APIRouter()
LATEST = 10  # the patient's latest texts both ways, below the exchange on an escalation's page

STATE_OPTIONS = [(state, state.capitalize()) for state in escalations.STATES]
SEVERITY_OPTIONS = [("", "Any"), *[(s, s.capitalize()) for s in escalations.SEVERITIES]]
# What the row template needs besides the row: how long a time to first action took.
ROW_HELPERS = {"duration": since}


@router.get("/escalations", response_class=HTMLResponse)
def escalation_list(
    request: Request,
    engine: EngineDep,
    pages: PagesDep,
    state: str = EscalationState.OPEN,
    severity: str = "",
) -> Response:
    errors: dict[str, list[str]] = {}
    if state not in escalations.STATES:
        errors["state"] = [f"Choose open, acknowledged, resolved or all; not {state[:40]!r}."]
    if severity and severity not in escalations.SEVERITIES:
        errors["severity"] = [f"Choose {_one_of(escalations.SEVERITIES)}; not {severity[:40]!r}."]
    rows = [] if errors else escalations.listing(engine, state, severity or None)
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
    return pages.render(request, "escalations.html", context, status_code=422 if errors else 200)


@router.get("/escalations/{escalation_id}", response_class=HTMLResponse)
def escalation_page(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    pages: PagesDep,
    found: EscalationDep,
) -> Response:
    return _detail(request, engine, settings, pages, found)


@router.post("/escalations/{escalation_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    clock: ClockDep,
    pages: PagesDep,
    escalation_id: int,
    next: Annotated[str, Form()] = "",
    layout: Annotated[str, Form()] = "full",
) -> Response:
    acted = escalations.acknowledge(engine, escalation_id, staff, clock.now())
    notice = None if acted.done else _already(pages, acted, EscalationState.ACKNOWLEDGED)
    return _after(request, engine, pages, escalation_id, next, layout, notice)


@router.post("/escalations/{escalation_id}/resolve", response_class=HTMLResponse)
def resolve(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    settings: SettingsDep,
    clock: ClockDep,
    pages: PagesDep,
    escalation_id: int,
    note: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
    layout: Annotated[str, Form()] = "full",
) -> Response:
    try:
        acted = escalations.resolve(engine, escalation_id, staff, note, clock.now())
    except NoteError as exc:
        errors = {"note": [str(exc)]}
        found = escalations.find(engine, escalation_id)
        if _htmx(request):
            return _row(request, pages, found, layout, errors=errors, note=note, status_code=422)
        return _detail(
            request, engine, settings, pages, found, errors=errors, note=note, status_code=422
        )
    notice = None if acted.done else _already(pages, acted, EscalationState.RESOLVED)
    return _after(request, engine, pages, escalation_id, next, layout, notice)


def _one_of(values: tuple[str, ...]) -> str:
    return f"{', '.join(values[:-1])} or {values[-1]}"


def _already(pages: Pages, acted: Acted, what: str) -> str:
    at = pages.when(acted.at, "%H:%M") if acted.at else ""
    return f"Already {what} by {acted.by}" + (f" at {at}." if at else ".")


def _after(
    request: Request,
    engine: EngineDep,
    pages: Pages,
    escalation_id: int,
    next: str,
    layout: str,
    notice: str | None,
) -> Response:
    if _htmx(request):
        found = escalations.find(engine, escalation_id)
        return _row(request, pages, found, layout, notice=notice)
    if notice:
        flash(request, notice)
    return RedirectResponse(local_path(next, f"/escalations/{escalation_id}"), status_code=303)


def _htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _row(
    request: Request,
    pages: Pages,
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
    return pages.render(request, "_escalation_row.html", values, status_code=status_code)


def _detail(
    request: Request,
    engine: EngineDep,
    settings: Settings,
    pages: Pages,
    row: EscalationView,
    status_code: int = 200,
    **context: Any,
) -> Response:
    around = exchange(engine, row.inbound_id) if row.inbound_id is not None else []
    # Below the exchange, what it does not already show.
    shown = {(item.text.direction, item.text.at, item.text.body) for item in around}
    latest = [
        text
        for text in latest_texts(engine, row.patient_id, LATEST)
        if (text.direction, text.at, text.body) not in shown
    ]
    values = {
        **ROW_HELPERS,
        "row": row,
        "exchange": around,
        "latest": latest,
        "errors": {},
        "note": "",
        **context,
    }
    return pages.render(request, "escalation.html", values, status_code=status_code)
