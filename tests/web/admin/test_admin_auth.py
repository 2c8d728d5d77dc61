"""Signing in and out, sessions, CSRF, roles; and a walk over every admin route proving
that none answers a stranger."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import Engine, select
from starlette.routing import Mount

from outreach.accounts.users import LOCKOUT_FAILURES, set_active, set_password
from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import audit_events
from outreach.texts.render import Renderer
from tests.support.admin import BASE, PASSWORD, Admin, admin_client

# Reachable without signing in: the sign-in page itself, the health check, the metrics
# (no patient data; a bearer token if OUTREACH_METRICS_TOKEN is set), Twilio's webhooks
# (they prove themselves with a signature instead) and the static files.
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("POST", "/twilio/sms"),
    ("POST", "/twilio/status"),
}


@pytest.fixture
def stranger(
    engine: Engine, settings: Settings, renderer: Renderer, clock: ManualClock, staff: None
) -> Admin:
    return admin_client(engine, settings, renderer, clock)


def every_route(app: Any, prefix: str = "") -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        if isinstance(route, Mount):
            if route.path == "/static":
                continue
            found += every_route(route.app, prefix + route.path)
        elif isinstance(route, APIRoute):
            for method in route.methods or ():
                found.append((method, prefix + route.path))
        elif hasattr(route, "original_router"):
            # FastAPI keeps an included router whole (fastapi.routing._IncludedRouter).
            found += every_route(route.original_router, prefix + route.include_context.prefix)
    return found


def concrete(path: str) -> str:
    """A path template with its parameters filled: /patients/{key} -> /patients/1."""
    import re

    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_admin_route_sends_a_stranger_to_sign_in(stranger: Admin) -> None:
    routes = every_route(stranger.client.app)
    # Signing out needs no account, only the session's CSRF token, which a stranger lacks.
    assert ("POST", "/logout") in routes
    assert stranger.client.post("/logout", follow_redirects=False).status_code == 403
    private = [(m, p) for m, p in routes if (m, p) not in PUBLIC and m != "HEAD" and p != "/logout"]
    assert ("GET", "/") in private and len(private) >= 10, private
    for method, path in private:
        response = stranger.client.request(method, concrete(path), follow_redirects=False)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/login"), (method, path)


def test_sign_in_takes_you_where_you_were_going(stranger: Admin) -> None:
    first = stranger.get("/messages?status=failed", follow_redirects=False)
    assert first.headers["location"] == "/login?next=/messages%3Fstatus%3Dfailed"

    stranger.get(first.headers["location"])
    signed = stranger.post(
        "/login",
        {"username": "admin", "password": PASSWORD, "next": "/messages?status=failed"},
        follow_redirects=False,
    )

    assert signed.status_code == 303
    assert signed.headers["location"] == "/messages?status=failed"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_the_site(stranger: Admin, target: str) -> None:
    stranger.get("/login")
    signed = stranger.post(
        "/login",
        {"username": "admin", "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert signed.headers["location"] == "/"


def test_a_wrong_password_is_refused_and_audited(stranger: Admin, engine: Engine) -> None:
    response = stranger.post("/login", {"username": "admin", "password": "wrong password!"})

    assert response.status_code == 401
    assert "do not match" in response.text
    assert 'value="admin"' in response.text  # what was typed is kept
    with engine.begin() as conn:
        actions = conn.execute(select(audit_events.c.action, audit_events.c.username)).all()
    assert actions == [("sign_in_failed", "admin")]


def test_repeated_wrong_passwords_lock_the_username(stranger: Admin) -> None:
    for _ in range(LOCKOUT_FAILURES):
        stranger.post("/login", {"username": "admin", "password": "wrong password!"})

    locked = stranger.post("/login", {"username": "admin", "password": PASSWORD})

    assert locked.status_code == 401
    assert "Too many wrong passwords" in locked.text


def test_sign_in_needs_the_forms_csrf_token(stranger: Admin) -> None:
    stranger.get("/login")
    response = stranger.client.post(
        "/login", data={"username": "admin", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403


def test_a_signed_in_post_without_the_token_is_refused(admin: Admin) -> None:
    response = admin.client.post("/logout", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert admin.get("/login", follow_redirects=False).status_code == 303  # still signed in


def test_signing_out_ends_the_session(admin: Admin) -> None:
    admin.get("/login", follow_redirects=True)
    out = admin.post("/logout", follow_redirects=False)
    assert out.headers["location"] == "/login"
    assert admin.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_a_copy_of_the_cookie_is_worthless_after_signing_out(admin: Admin) -> None:
    copy = dict(admin.client.cookies)
    admin.post("/logout", follow_redirects=False)

    admin.client.cookies.clear()
    for name, value in copy.items():
        admin.client.cookies.set(name, value)
    assert admin.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_disabling_a_user_ends_their_session(admin: Admin, engine: Engine) -> None:
    set_active(engine, "admin", False)
    assert admin.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_a_new_password_ends_old_sessions(admin: Admin, engine: Engine) -> None:
    set_password(engine, "admin", "a brand new passphrase")
    assert admin.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_htmx_requests_are_sent_to_sign_in_as_a_whole_page(stranger: Admin) -> None:
    response = stranger.client.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.headers["HX-Redirect"] == "/login"


def test_the_sign_in_page_labels_its_fields(stranger: Admin) -> None:
    page = stranger.get("/login").text
    assert '<label for="username">' in page and '<label for="password">' in page
    assert BASE  # the client talks https, so Secure cookies come back
