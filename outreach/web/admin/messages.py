"""The message log: texts both ways, filtered by status, kind, direction, dates and
patient, fifty at a time. Staff may read the bodies; they are never logged."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from outreach.rules.vocabulary import Direction
from outreach.staff import messagelog
from outreach.web.deps import EngineDep, PagesDep, RendererDep, SettingsDep

router = APIRouter()
FIELDS = ("status", "kind", "direction", "from", "to", "patient", "page")


@router.get("/messages", response_class=HTMLResponse)
def messages(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    renderer: RendererDep,
    pages: PagesDep,
) -> Response:
    kinds = renderer.templates()
    wanted, parsed = messagelog.parse_filter(request.query_params, kinds)
    # In the order the form shows them: the first in error gets the focus.
    errors = {**{name: parsed[name] for name in FIELDS if name in parsed}, **parsed}
    log = None if errors else messagelog.message_log(engine, wanted, settings.clinic_zone)
    older = None
    if log is not None and log.has_older:
        older = "/messages?" + urlencode(wanted.query(page=wanted.page + 1))
    context = {
        "wanted": wanted,
        "typed": request.query_params,
        "errors": errors,
        "log": log,
        "older": older,
        "newer": "/messages?" + urlencode(wanted.query(page=wanted.page - 1))
        if wanted.page > 1
        else None,
        "status_options": [("", "Any"), *[(s, s) for s in messagelog.STATUSES]],
        "kind_options": [("", "Any"), *[(k, k.replace("_", " ")) for k in kinds]],
        "direction_options": [("", "Both"), (Direction.OUT, "Sent"), (Direction.IN, "Received")],
    }
    return pages.render(request, "messages.html", context, status_code=422 if errors else 200)
