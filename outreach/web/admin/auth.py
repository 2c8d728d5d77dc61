"""The admin's session and the CSRF check every form passes.

The session is a signed cookie (Starlette's SessionMiddleware: HttpOnly, SameSite=Lax,
Secure behind https) holding the user's id, a stamp of their password hash and a CSRF
token. The user is looked up on every request (`signed_in` in web/deps.py), so disabling
an account or changing its password ends its sessions at once.
"""

from __future__ import annotations

import hmac
import secrets
import time
from urllib.parse import quote

from fastapi import HTTPException, Request

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """Answered with a redirect to the sign-in page (web/admin/app.py)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


def csrf_token(request: Request) -> str:
    """This session's token, made on first use (the sign-in form needs one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request that lacks this session's token (403)."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            # Starlette keeps the parsed form on the request, so the route reads it again
            # for free.
            value = (await request.form()).get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(expected, sent):
        raise HTTPException(403, "This form has expired. Go back, reload the page and try again.")


def local_path(target: str | None, default: str = "/") -> str:
    """A redirect target that stays on this site: '/x', never '//evil' or 'http://evil'."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def session_time() -> float:
    """When a session is made or ended. The wall clock, not the app's clock: a session's
    validity is about real time even when a test or the demo runs the app's clock."""
    return time.time()


def sign_in_url(next_path: str) -> str:
    return "/login" if next_path == "/" else f"/login?next={quote(next_path, safe='/')}"
