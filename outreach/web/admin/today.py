"""Today, the page staff open first: open escalations (refreshed every 15 s), what goes out
today, what failed this week, and replies that need a look."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.staff import escalations
from outreach.staff import feeds as feedview
from outreach.staff import inbox as inboxview
from outreach.staff import sessions as sessionview
from outreach.staff import today as inbox
from outreach.web.admin.auth import local_path
from outreach.web.admin.escalations import ROW_HELPERS
from outreach.web.admin.pages import flash
from outreach.web.deps import ClockDep, CurrentUser, EngineDep, PagesDep, SettingsDep

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def today(
    request: Request, engine: EngineDep, settings: SettingsDep, clock: ClockDep, pages: PagesDep
) -> Response:
    now = clock.now()
    texts, reminders = inbox.failed_recently(engine, now)
    context = {
        **ROW_HELPERS,
        "rows": escalations.listing(engine, "unresolved"),
        "outgoing": inbox.outgoing_today(engine, now, settings.clinic_zone),
        "failed_texts": texts,
        "failed_reminders": reminders,
        "replies": inbox.replies_to_review(engine, now),
        "inbox_open": inboxview.open_count(engine),
        "feeds": feedview.attention(engine, now),
        "day_sessions": sessionview.day_sessions(engine, now, settings.clinic_zone),
        "awaiting": sessionview.awaiting_marks(engine, now, settings.clinic_zone),
        "awaiting_days": sessionview.AWAITING_DAYS,
        "marks_for": sessionview.marks_for,
    }
    return pages.render(request, "today.html", context)


@router.get("/today/escalations", response_class=HTMLResponse)
def today_escalations(request: Request, engine: EngineDep, pages: PagesDep) -> Response:
    """The escalations section alone, for htmx to poll."""
    rows = escalations.listing(engine, "unresolved")
    context = {**ROW_HELPERS, "rows": rows}
    return pages.render(request, "_today_escalations.html", context)


@router.post("/replies/{reply_id}/seen", response_class=HTMLResponse)
def reply_seen(
    request: Request,
    staff: CurrentUser,
    engine: EngineDep,
    clock: ClockDep,
    reply_id: int,
    next: Annotated[str, Form()] = "/",
) -> Response:
    changed = inbox.mark_seen(engine, reply_id, staff, clock.now())
    if request.headers.get("HX-Request") == "true":
        return HTMLResponse("")  # htmx removes the row
    flash(request, "Marked as seen." if changed else "Someone had already marked it seen.")
    return RedirectResponse(local_path(next), status_code=303)
