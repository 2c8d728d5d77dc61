"""The clinic's admin pages: a FastAPI app of server-rendered pages, mounted beside the
Twilio webhooks. Every route but sign-in and the static files needs a signed-in user
(added here, router by router, so a new page cannot forget it)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from outreach.accounts.users import LOCKOUT_WINDOW, LockedOut, authenticate, end_sessions
from outreach.clock import Clock
from outreach.config import Settings
from outreach.texts.render import Renderer
from outreach.web.admin import (
    audit,
    escalations,
    messages,
    patients,
    replies,
    report,
    templates,
    today,
)
from outreach.web.admin.auth import (
    SignInRequired,
    check_csrf,
    current_user,
    local_path,
    session_time,
    sign_in_url,
    signed_in,
)
from outreach.web.admin.pages import Pages, pages

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "outreach_session"
SESSION_HOURS = 8  # a shift; each page view extends it

ROUTERS = (
    today.router,
    patients.router,
    escalations.router,
    messages.router,
    templates.router,
    replies.router,
    report.router,
    audit.router,
)


def create_admin(
    engine: Engine, settings: Settings, clock: Clock, secret: str, renderer: Renderer
) -> FastAPI:
    admin = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    admin.state.engine = engine
    admin.state.settings = settings
    admin.state.clock = clock
    admin.state.renderer = renderer
    admin.state.pages = Pages(settings, clock)
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
    _sign_in_routes(admin)
    _error_pages(admin)
    return admin


def _sign_in_routes(admin: FastAPI) -> None:
    @admin.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        if signed_in(request) is not None:
            return RedirectResponse(local_path(next), status_code=303)
        return pages(request).render(request, "login.html", {"next": local_path(next)})

    @admin.post("/login", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=1000)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        state = request.app.state
        error = None
        try:
            staff = authenticate(state.engine, username, password, state.clock.now())
        except LockedOut:
            staff = None
            minutes = int(LOCKOUT_WINDOW.total_seconds() // 60)
            error = f"Too many wrong passwords. Wait {minutes} minutes, then try again."
        if staff is None:
            context = {
                "next": local_path(next),
                "username": username,
                "error": error or "That username and password do not match an active account.",
            }
            return pages(request).render(request, "login.html", context, status_code=401)
        # A new session on sign-in, so a token planted before it is worthless afterwards.
        request.session.clear()
        request.session.update({"uid": staff.id, "stamp": staff.stamp, "iat": session_time()})
        return RedirectResponse(local_path(next), status_code=303)

    @admin.post("/logout", dependencies=[Depends(check_csrf)])
    def logout(request: Request) -> Response:
        staff = signed_in(request)
        if staff is not None:
            # A cookie is only deleted where the browser obeys; voiding the sessions made so
            # far makes any copy of it worthless too.
            ended = datetime.fromtimestamp(session_time(), UTC)
            end_sessions(request.app.state.engine, staff.id, ended)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)


def _error_pages(admin: FastAPI) -> None:
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
        return pages(request).render(request, "error.html", context, status_code=exc.status_code)
