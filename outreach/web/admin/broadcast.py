"""A message to many, for admins: every patient with a session on a day, or every active
patient. Previewed first (how many, in which language, each text and its length); sending
the preview sends once, however often the button is pressed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from outreach.accounts.users import Staff
from outreach.config import Settings
from outreach.inbox import broadcasts
from outreach.inbox.broadcasts import Audience, BroadcastError, Preview, Sent
from outreach.web.admin.pages import Pages
from outreach.web.deps import AdminUser, EngineDep, NowDep, PagesDep, SettingsDep

router = APIRouter()
LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
FIELDS = ("audience", "on", "token", *(f"text_{code}" for code in LANGUAGE_NAMES))


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: str(form.get(key) or "") for key in FIELDS}


def _texts(form: dict[str, str]) -> dict[str, str]:
    return {code: form[f"text_{code}"] for code in LANGUAGE_NAMES}


def _render(
    request: Request,
    pages: Pages,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    preview: Preview | None = None,
    sent: Sent | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "form": form,
        "errors": {key: [why] for key, why in (errors or {}).items()},
        "preview": preview,
        "sent": sent,
        "languages": LANGUAGE_NAMES,
    }
    return pages.render(request, "broadcast.html", context, status_code=status_code)


@router.get("/broadcast", response_class=HTMLResponse)
def broadcast_form(request: Request, staff: AdminUser, pages: PagesDep) -> Response:
    return _render(request, pages, dict.fromkeys(FIELDS, "") | {"audience": "sessions"})


@router.post("/broadcast/preview", response_class=HTMLResponse)
async def preview(
    request: Request, staff: AdminUser, engine: EngineDep, pages: PagesDep, now: NowDep
) -> Response:
    form = await _form(request)
    try:
        audience = broadcasts.parse_audience(form["audience"], form["on"])
        shown = await run_in_threadpool(_preview, engine, audience, _texts(form), now)
    except BroadcastError as exc:
        return _render(request, pages, form, exc.errors, status_code=422)
    return _render(request, pages, form, preview=shown)


def _preview(engine: Engine, audience: Audience, texts: dict[str, str], now: Any) -> Preview:
    with engine.connect() as conn:
        return broadcasts.preview(conn, audience, texts, now)


@router.post("/broadcast/send", response_class=HTMLResponse)
async def send(
    request: Request,
    staff: AdminUser,
    engine: EngineDep,
    settings: SettingsDep,
    pages: PagesDep,
    now: NowDep,
) -> Response:
    form = await _form(request)
    if not form["token"]:
        errors = {"token": "preview the message first: nothing was sent"}
        return _render(request, pages, form, errors, status_code=422)
    try:
        audience = broadcasts.parse_audience(form["audience"], form["on"])
        sent = await run_in_threadpool(
            _send, engine, settings, staff, form["token"][:64], audience, _texts(form), now
        )
    except BroadcastError as exc:
        return _render(request, pages, form, exc.errors, status_code=422)
    return _render(request, pages, form, sent=sent)


def _send(
    engine: Engine,
    settings: Settings,
    staff: Staff,
    token: str,
    audience: Audience,
    texts: dict[str, str],
    now: Any,
) -> Sent:
    with engine.begin() as conn:
        return broadcasts.send(conn, settings, staff, token, audience, texts, now)
