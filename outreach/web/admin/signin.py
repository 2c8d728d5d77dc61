"""Signing in and out: the sign-in form, checking a password, and ending a session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from outreach.accounts.users import LOCKOUT_WINDOW, LockedOut, authenticate, end_sessions
from outreach.web.admin.auth import check_csrf, local_path, session_time
from outreach.web.deps import ClockDep, EngineDep, PagesDep, SignedIn

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, pages: PagesDep, staff: SignedIn, next: str = "/") -> Response:
    if staff is not None:
        return RedirectResponse(local_path(next), status_code=303)
    return pages.render(request, "login.html", {"next": local_path(next)})


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    engine: EngineDep,
    clock: ClockDep,
    pages: PagesDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    error = None
    try:
        staff = authenticate(engine, username, password, clock.now())
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
        return pages.render(request, "login.html", context, status_code=401)
    # A new session on sign-in, so a token planted before it is worthless afterwards.
    request.session.clear()
    request.session.update({"uid": staff.id, "stamp": staff.stamp, "iat": session_time()})
    return RedirectResponse(local_path(next), status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, engine: EngineDep, staff: SignedIn) -> Response:
    if staff is not None:
        # A cookie is only deleted where the browser obeys; voiding the sessions made so
        # far makes any copy of it worthless too.
        ended = datetime.fromtimestamp(session_time(), UTC)
        end_sessions(engine, staff.id, ended)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
