"""The patient's side, for tests that need real messages, replies and escalations: the
planner and dispatcher run as the service runs them, on the test's clock, and replies go
through Twilio's signed webhook."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine, select
from twilio.request_validator import RequestValidator

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import outbound_messages
from outreach.planning.planner import plan_due
from outreach.sending.dispatcher import Dispatcher
from outreach.texts.render import Renderer
from tests.support.transport import RecordingTransport

PHONE = "+16175550142"  # tests/conftest.py patient_row's P-1, Ana Torres
CLINIC = "+16175550100"
FORM = "application/x-www-form-urlencoded"


def send_until(
    engine: Engine,
    settings: Settings,
    clock: ManualClock,
    renderer: Renderer,
    transport: RecordingTransport,
    template: str,
) -> None:
    """Move the clock in 15-minute steps, planning and sending, until a message from
    `template` has gone out."""
    dispatcher = Dispatcher(engine, settings, clock, transport, renderer, "test")
    for _ in range(4 * 24 * 3):
        plan_due(engine, settings, clock.now())
        dispatcher.run()
        with engine.begin() as conn:
            sent = conn.execute(
                select(outbound_messages.c.id).where(outbound_messages.c.template == template)
            ).first()
        if sent is not None:
            return
        clock.advance(timedelta(minutes=15))
    raise AssertionError(f"no {template} message went out in three days")


def signed_reply(
    base_url: str, token: str, body: str, phone: str = PHONE
) -> tuple[str, dict[str, str], str]:
    """What Twilio posts for a patient's text: (url, headers, form body), signed for the
    public URL."""
    url = f"{base_url}/twilio/sms"
    params = {"From": phone, "To": CLINIC, "MessageSid": "SM" + uuid.uuid4().hex, "Body": body}
    signature: Any = RequestValidator(token).compute_signature(url, params)
    headers = {"Content-Type": FORM, "X-Twilio-Signature": str(signature)}
    return url, headers, urlencode(params)
