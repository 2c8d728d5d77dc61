"""The audit log: who changed what, newest first, for clinic admins only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from outreach.accounts import audit
from outreach.web.deps import AdminUser, EngineDep, PagesDep, SettingsDep

router = APIRouter()


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    staff: AdminUser,
    engine: EngineDep,
    settings: SettingsDep,
    pages: PagesDep,
    patient: str = "",
    user: str = "",
    action: str = "",
    start: str = "",
    end: str = "",
    sign_ins: str = "",
    before_id: str = "",
) -> Response:
    form = {
        "patient": patient,
        "user": user,
        "action": action,
        "start": start,
        "end": end,
        "sign_ins": sign_ins,
    }
    choices = [(a, audit.describe(a)) for a in audit.known_actions(engine)]
    context: dict[str, Any] = {
        "form": form,
        "actions": [("", "Any action"), *choices],
        "usernames": audit.usernames(engine),
    }
    wanted = audit.parse_filter(form)
    if isinstance(wanted, dict):
        context["errors"] = wanted
        return pages.render(request, "audit.html", context, status_code=422)
    # A before_id only ever comes from our own "older" link; anything else starts at the newest.
    before = int(before_id) if before_id.isdigit() and len(before_id) < 12 else None
    page = audit.search(engine, wanted, settings.clinic_zone, before_id=before)
    query = wanted.query()
    older = {**query, "before_id": str(page.older)} if page.older is not None else None
    context |= {
        "errors": {},
        "entries": page.entries,
        "paged": before is not None,
        "newest": "/audit?" + urlencode(query),
        "older": "/audit?" + urlencode(older) if older else None,
    }
    return pages.render(request, "audit.html", context)
