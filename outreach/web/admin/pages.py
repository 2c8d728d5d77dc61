"""Rendering admin pages: one Jinja2 environment over templates/web, with the filters and
the values every page needs (the signed-in user, the CSRF token, the clinic)."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from outreach.clock import Clock
from outreach.config import REPO_ROOT, Settings
from outreach.patients.enrolment import clinic_region
from outreach.rules.durations import spoken_duration
from outreach.rules.intentwords import intent_words, skip_words, text_words, understood_as
from outreach.rules.phones import readable_phone, tel_href
from outreach.rules.readabletime import DEFAULT_FORMAT, readable_time
from outreach.web.admin.auth import CSRF_FIELD, CSRF_HEADER, csrf_token

# The token of the page being rendered, for form macros imported without context (which
# see only globals); Starlette renders a template where the response is made, in this
# thread.
_rendering_token: ContextVar[str] = ContextVar("csrf_token", default="")
SHIPPED = REPO_ROOT / "templates" / "web"
NAV = (
    ("/", "Today"),
    ("/inbox", "Inbox"),
    ("/patients", "Patients"),
    ("/escalations", "Escalations"),
    ("/messages", "Messages"),
    ("/templates", "Templates"),
    ("/report", "Report"),
    ("/feeds", "Feeds"),
    ("/audit", "Audit log"),
)


def since(then: datetime | None, now: datetime) -> str:
    """How long ago, for staff reading a queue: '3 min', '2 h 5 min', '4 d 1 h'."""
    return "" if then is None else spoken_duration(now - then)


class Pages:
    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.zone = ZoneInfo(settings.clinic_timezone)
        # A clinic that points paths.templates at its own SMS texts need not copy the admin's
        # pages: those not found there come from the shipped set.
        folders = dict.fromkeys([Path(settings.templates_dir) / "web", SHIPPED])
        self.templates = Jinja2Templates(
            env=Environment(loader=FileSystemLoader(list(folders)), autoescape=True)
        )
        env = self.templates.env
        env.filters["when"] = self.when
        env.filters["local"] = self.local
        env.filters["ago"] = lambda then: since(then, self.clock.now())
        region = clinic_region(settings.clinic_phone)
        env.filters["phone"] = lambda e164: readable_phone(e164, region)
        env.filters["tel"] = tel_href
        env.filters["intent"] = intent_words
        env.filters["understood"] = understood_as
        env.filters["text_kind"] = text_words
        env.filters["skip"] = skip_words
        env.globals["nav"] = NAV
        env.globals["clinic_name"] = settings.clinic_name
        env.globals["csrf_field"] = CSRF_FIELD
        env.globals["csrf_header"] = CSRF_HEADER
        env.globals["current_csrf_token"] = _rendering_token.get

    def when(self, instant: datetime | None, fmt: str = DEFAULT_FORMAT) -> str:
        """An instant in the clinic's timezone, labelled ('Mon 26 Oct 21:00 EDT'): for the
        clinic-wide lists (message log, escalations, audit, patient list)."""
        return "" if instant is None else readable_time(instant, self.zone, fmt)

    def local(self, instant: datetime | None, zone: str | None, fmt: str = DEFAULT_FORMAT) -> str:
        """An instant in a patient's own timezone, labelled ('Mon 26 Oct 20:00 CDT'): for
        what concerns the patient's day. None for `zone` (a number that is not a
        patient's) falls back to the clinic's time, labelled as such."""
        if instant is None:
            return ""
        return readable_time(instant, zone or self.zone, fmt)

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        token = csrf_token(request)
        _rendering_token.set(token)
        values = {
            "staff": getattr(request.state, "staff", None),
            "csrf_token": token,
            "now": self.clock.now(),
            "path": request.url.path,
            "flashes": request.session.pop("flash", []),
            **(context or {}),
        }
        return self.templates.TemplateResponse(request, name, values, status_code=status_code)


def flash(request: Request, message: str) -> None:
    """A one-line notice shown on the next page rendered ('Plan saved.')."""
    request.session["flash"] = [*request.session.get("flash", []), message]
