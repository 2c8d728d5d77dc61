"""Today, the page staff open first: open escalations (refreshed every 15 s), what goes out
today, what failed this week, and replies that need a look."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.staff import escalations
from outreach.staff import today as inbox
from outreach.web.admin.auth import CurrentUser, local_path
from outreach.web.admin.escalations import ROW_HELPERS
from outreach.web.admin.pages import flash, pages

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def today(request: Request) -> Response:
    state = request.app.state
    now = state.clock.now()
    texts, reminders = inbox.failed_recently(state.engine, now)
    context = {
        **ROW_HELPERS,
        "rows": escalations.listing(state.engine, "unresolved"),
        "outgoing": inbox.outgoing_today(state.engine, now, state.settings.clinic_zone),
        "failed_texts": texts,
        "failed_reminders": reminders,
        "replies": inbox.replies_to_review(state.engine, now),
    }
    return pages(request).render(request, "today.html", context)


@router.get("/today/escalations", response_class=HTMLResponse)
def today_escalations(request: Request) -> Response:
    """The escalations section alone, for htmx to poll."""
    rows = escalations.listing(request.app.state.engine, "unresolved")
    context = {**ROW_HELPERS, "rows": rows}
    return pages(request).render(request, "_today_escalations.html", context)


@router.post("/replies/{reply_id}/seen", response_class=HTMLResponse)
def reply_seen(
    request: Request,
    staff: CurrentUser,
    reply_id: int,
    next: Annotated[str, Form()] = "/",
) -> Response:
    state = request.app.state
    try:
        changed = inbox.mark_seen(state.engine, reply_id, staff, state.clock.now())
    except LookupError:
        raise HTTPException(404) from None
    if request.headers.get("HX-Request") == "true":
        return HTMLResponse("")  # htmx removes the row
    flash(request, "Marked as seen." if changed else "Someone had already marked it seen.")
    return RedirectResponse(local_path(next), status_code=303)
