"""The clinic's admin pages: a FastAPI app of server-rendered pages, mounted beside the
Twilio webhooks. Every route but sign-in and the static files needs a signed-in user
(added here, router by router, so a new page cannot forget it)."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from outreach.clock import Clock
from outreach.config import Settings
from outreach.patients.edits import PatientNotFound
from outreach.staff.escalations import NotFound as EscalationNotFound
from outreach.staff.today import ReplyNotFound
from outreach.texts.render import Renderer
from outreach.web.admin import (
    audit,
    broadcast,
    escalations,
    feeds,
    inbox,
    messages,
    patientactions,
    patientform,
    patientimport,
    patients,
    quickreplies,
    replies,
    report,
    sessions,
    signin,
    stafftexts,
    templates,
    today,
    waitlist,
)
from outreach.web.admin.auth import SignInRequired, sign_in_url
from outreach.web.admin.pages import Pages
from outreach.web.deps import current_user

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "outreach_session"
SESSION_HOURS = 8  # a shift; each page view extends it

ROUTERS = (
    today.router,
    inbox.router,
    stafftexts.router,
    quickreplies.router,
    broadcast.router,
    # Before patients.router, whose /patients/{external_id} would take "new" and "import".
    patientform.router,
    patientimport.router,
    patients.router,
    patientactions.router,
    sessions.router,
    escalations.router,
    messages.router,
    templates.router,
    replies.router,
    report.router,
    audit.router,
    waitlist.router,
    feeds.router,
)
# What the staff-facing lookups raise for an id that names nothing: the admin's 404 page.
NOT_FOUND = (PatientNotFound, EscalationNotFound, ReplyNotFound)


def create_admin(
    engine: Engine, settings: Settings, clock: Clock, secret: str, renderer: Renderer
) -> FastAPI:
    admin = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    pages = Pages(settings, clock)
    admin.state.engine = engine
    admin.state.settings = settings
    admin.state.clock = clock
    admin.state.renderer = renderer
    admin.state.pages = pages
    admin.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_HOURS * 3600,
        same_site="lax",
        https_only=(settings.public_base_url or "").startswith("https://"),
    )
    admin.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in ROUTERS:
        admin.include_router(router, dependencies=[Depends(current_user)])
    admin.include_router(signin.router)
    _error_pages(admin, pages)
    return admin


def _error_pages(admin: FastAPI, pages: Pages) -> None:
    @admin.exception_handler(SignInRequired)
    def to_sign_in(request: Request, exc: SignInRequired) -> Response:
        target = sign_in_url(exc.next_path)
        if request.headers.get("HX-Request"):
            # htmx would swap the sign-in page into a fragment; make it load the whole page.
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @admin.exception_handler(StarletteHTTPException)
    def error_page(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed here"}
        title = titles.get(exc.status_code, "Something went wrong")
        detail = exc.detail if exc.status_code != 404 else "There is no page at this address."
        context = {"title": title, "detail": detail, "status": exc.status_code}
        return pages.render(request, "error.html", context, status_code=exc.status_code)

    def not_found(request: Request, exc: Exception) -> Response:
        return error_page(request, StarletteHTTPException(404))

    for kind in NOT_FOUND:
        admin.add_exception_handler(kind, not_found)
