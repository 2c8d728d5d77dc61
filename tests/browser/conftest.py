"""Browser tests: Debian's Chromium driven by Playwright against the real app, served by
uvicorn on a free local port, with a clock the test moves and a patient who texts back
through Twilio's signed webhook.

One browser for the run, a fresh browser context (cookies, storage) for each test."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.planning.planner import plan_due
from outreach.testing.ports import free_port
from outreach.texts.render import Renderer
from outreach.web.app import create_app
from outreach.web.server import serve
from tests.support.admin import PASSWORD, SECRET, TOKEN, add_staff
from tests.support.clinic import PHONE, send_until, signed_reply
from tests.support.patients import enrol
from tests.support.transport import RecordingTransport

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: CI runs as root, where Chromium refuses to start with one. The rest keeps a
# headless run from reaching out to Google's update, sync and QUIC endpoints.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
# htmx refreshes the thread every 5 s and Today's escalations every 15 s.
REFRESH_WAIT_MS = 20_000


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if os.environ.get("OUTREACH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"OUTREACH_REQUIRE_BROWSER=1 but {why}", pytrace=False)
        pytest.skip(why)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@dataclass
class Live:
    """The app served for real, and the patient's side of the conversation."""

    url: str
    engine: Engine
    settings: Settings
    clock: ManualClock
    renderer: Renderer
    transport: RecordingTransport = field(default_factory=RecordingTransport)

    def enrol(self, **overrides: str) -> int:
        """P-1 Ana Torres (tests/conftest.py patient_row), consented, reminders planned."""
        patient_id = enrol(self.engine, self.settings, self.clock.now(), consent=True, **overrides)
        plan_due(self.engine, self.settings, self.clock.now())
        return patient_id

    def send_until(self, template: str) -> None:
        """Plan and send on the test's clock until a `template` message has gone out."""
        send_until(self.engine, self.settings, self.clock, self.renderer, self.transport, template)

    def text(self, body: str, phone: str = PHONE) -> httpx.Response:
        """The patient texts the clinic, two minutes later, through the live webhook."""
        self.clock.advance(timedelta(minutes=2))
        url, headers, form = signed_reply(self.settings.public_base_url or "", TOKEN, body, phone)
        response = httpx.post(url, content=form, headers=headers)
        assert response.status_code == 200, response.text
        return response


@pytest.fixture
def live(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> Iterator[Live]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    served = replace(settings, public_base_url=url)
    add_staff(engine, clock.now())
    app = create_app(engine, served, TOKEN, renderer, clock, SECRET)
    stop = threading.Event()
    thread = threading.Thread(target=serve, args=(app, "127.0.0.1", port, stop), daemon=True)
    thread.start()
    for _ in range(200):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        stop.wait(0.05)
    else:
        raise AssertionError(f"the app did not answer on {url}")
    yield Live(url, engine, served, clock, renderer)
    stop.set()
    thread.join(timeout=30)


@pytest.fixture
def page(browser: Browser, live: Live) -> Iterator[Page]:
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def sign_in(page: Page, username: str = "admin", password: str = PASSWORD) -> None:
    """Through the sign-in form, as a person would."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def signed_in(page: Page) -> Page:
    sign_in(page)
    return page
