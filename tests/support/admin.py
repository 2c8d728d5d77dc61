"""Signing in to the admin in tests: an app with a known session secret, staff users made
once per run (argon2 is slow on purpose), and a client that carries the CSRF token."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, insert

from outreach.clock import Clock
from outreach.config import Settings
from outreach.db.tables import staff_users
from outreach.texts.render import Renderer
from outreach.web.app import create_app

SECRET = "test-session-secret-0123456789-abcdefghijklmnop"
TOKEN = "12345678901234567890123456789012"  # Twilio auth token for the webhooks
BASE = "https://clinic.example.org"
PASSWORD = "correct horse battery"
USERS = {"admin": ("Alex Admin", "admin"), "terry": ("Terry Therapist", "therapist")}
_HASH = PasswordHasher().hash(PASSWORD)
_CSRF_ANY = re.compile(r'name="csrf_token" value="([^"]*)"')


def add_staff(engine: Engine, now: datetime) -> None:
    """The two users of USERS, with PASSWORD, inserted directly (hashing is slow)."""
    with engine.begin() as conn:
        for username, (name, role) in USERS.items():
            conn.execute(
                insert(staff_users).values(
                    username=username,
                    display_name=name,
                    password_hash=_HASH,
                    role=role,
                    active=True,
                    created_at=now,
                )
            )


def admin_app_settings(settings: Settings) -> Settings:
    return replace(settings, public_base_url=BASE)


class Admin:
    """A browser-like client: follows the CSRF token of the last page it saw."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.token = ""

    def get(self, url: str, **kwargs: Any) -> Response:
        response: Response = self.client.get(url, **kwargs)
        self._remember(response)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Response:
        """A form post with this session's CSRF token (fetched from the sign-in page first
        if no page has been seen yet)."""
        if not self.token:
            self.get("/login")
        form = {"csrf_token": self.token, **(data or {})}
        response: Response = self.client.post(url, data=form, **kwargs)
        self._remember(response)
        return response

    def sign_in(self, username: str = "admin", password: str = PASSWORD) -> Response:
        self.get("/login")
        return self.post(
            "/login", {"username": username, "password": password}, follow_redirects=False
        )

    def _remember(self, response: Response) -> None:
        """Keep the page's token; every form on a page must carry the same, non-empty one."""
        if "html" not in response.headers.get("content-type", ""):
            return
        tokens = set(_CSRF_ANY.findall(response.text))
        assert "" not in tokens and len(tokens) <= 1, f"forms with bad CSRF tokens: {tokens}"
        if tokens:
            self.token = tokens.pop()


def admin_client(engine: Engine, settings: Settings, renderer: Renderer, clock: Clock) -> Admin:
    app = create_app(engine, admin_app_settings(settings), TOKEN, renderer, clock, SECRET)
    return Admin(TestClient(app, base_url=BASE))
