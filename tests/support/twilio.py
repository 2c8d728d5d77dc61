"""A clinic wired to Twilio over real HTTP, for the end-to-end and fault tests.

FakeTwilio listens on one loopback port, our webhook app runs under uvicorn on another, and
the real TwilioTransport (the real `twilio` client) talks to the first while FakeTwilio's
signed status callbacks and inbound texts arrive at the second. One ManualClock drives the
service, the app and FakeTwilio's timestamps, so a reconciling lookup sees the same time.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine, select

from outreach.clock import ManualClock
from outreach.config import Settings, TwilioCredentials
from outreach.db.tables import outbound_messages
from outreach.runtime import Service
from outreach.sending.dispatcher import Dispatcher
from outreach.sending.outcome import DispatchReport
from outreach.testing import FakeTwilio
from outreach.testing.ports import free_port
from outreach.testing.twilio_api import RecordedRequest
from outreach.texts.render import Renderer
from outreach.transports import Transport
from outreach.transports.twilio import TwilioTransport
from outreach.web import create_app
from outreach.web.server import serve

PATIENT = "+16175550142"  # conftest.patient_row's phone
CLINIC_NUMBER = "+16175550100"
ON_CALL = "+16175550199"
# Monday 23 November 2026, 08:30 in Boston: the default patient's first foot check.
FOOT_CHECK_AT = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)
MESSAGES_PATH = "/Messages.json"


def twiml_texts(answer: str) -> list[str]:
    """The texts a TwiML answer sends back, in order."""
    root = ET.fromstring(answer)
    assert root.tag == "Response", answer
    return [message.text or "" for message in root.iter("Message")]


@dataclass
class Clinic:
    engine: Engine
    settings: Settings
    clock: ManualClock
    renderer: Renderer
    fake: FakeTwilio
    transport: TwilioTransport
    service: Service

    @property
    def base_url(self) -> str:
        assert self.settings.public_base_url
        return self.settings.public_base_url

    def dispatcher(
        self, worker_id: str = "worker-1", transport: Transport | None = None
    ) -> Dispatcher:
        return Dispatcher(
            self.engine,
            self.settings,
            self.clock,
            transport or self.transport,
            self.renderer,
            worker_id,
            concurrency=self.settings.send_concurrency,
        )

    def dispatch(self, worker_id: str = "worker-1") -> DispatchReport:
        return self.dispatcher(worker_id).run()

    def text(self, body: str, from_: str = PATIENT) -> list[str]:
        """The patient texts us through FakeTwilio; returns what our TwiML answer says."""
        status, answer = self.fake.post_inbound(from_, body)
        assert status == 200, (status, answer)
        return twiml_texts(answer)

    def creates(self, to: str | None = None) -> list[RecordedRequest]:
        """Every create FakeTwilio answered (accepted, refused or dropped), in the order the
        answers went out. A create still hanging is not there yet: see `final_creates`."""
        return [
            r
            for r in self.fake.requests
            if r.method == "POST"
            and r.path.endswith(MESSAGES_PATH)
            and (to is None or r.params.get("To") == to)
        ]

    def final_creates(self) -> list[RecordedRequest]:
        """Stop FakeTwilio, which cuts every hang short, and return its complete record of
        creates: a hung one is recorded only when it ends."""
        self.fake.stop()
        return self.creates()

    def lookups(self) -> list[RecordedRequest]:
        return [r for r in self.fake.requests if r.method == "GET"]

    def outbound(self, **where: Any) -> list[Any]:
        query = select(outbound_messages).order_by(outbound_messages.c.id)
        for column, value in where.items():
            query = query.where(outbound_messages.c[column] == value)
        with self.engine.begin() as conn:
            return list(conn.execute(query).all())


def wait_until_serving(base_url: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=1) as http:
        while True:
            try:
                if http.get(f"{base_url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the webhook app at {base_url} never answered")
            time.sleep(0.02)


@contextmanager
def twilio_clinic(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
    auto_status: list[str] | None = None,
    session_secret: str | None = None,
) -> Iterator[Clinic]:
    """FakeTwilio and the webhook app, both up, and a service sending through Twilio; with
    `session_secret`, the admin too (for the browser tests)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    fake = FakeTwilio(webhook_base_url=base_url, auto_status=auto_status, clock=clock).start()
    stop = threading.Event()
    web: threading.Thread | None = None
    try:
        settings = replace(
            settings,
            sms_provider="twilio",
            twilio_api_base_url=fake.base_url,
            twilio_from_number=CLINIC_NUMBER,
            public_base_url=base_url,
            on_call_phone=ON_CALL,
            # Short, so a hung create costs a test one second, not fifteen.
            twilio_timeout_seconds=1.0,
            # The limiter sleeps in real time; these tests count messages, not pace them.
            send_rate=1000.0,
        )
        app = create_app(engine, settings, fake.auth_token, renderer, clock, session_secret)
        web = threading.Thread(
            target=serve, args=(app, "127.0.0.1", port, stop), name="webhooks", daemon=True
        )
        web.start()
        wait_until_serving(base_url)
        transport = TwilioTransport(settings, TwilioCredentials(fake.account_sid, fake.auth_token))
        service = Service(engine, settings, clock, transport, renderer, worker_id="service")
        yield Clinic(engine, settings, clock, renderer, fake, transport, service)
    finally:
        # FakeTwilio first (a test may have stopped it already): a callback still pending
        # must not knock on a closed app.
        fake.stop()
        stop.set()
        if web is not None:
            web.join(timeout=30)
