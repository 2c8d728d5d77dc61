"""Twilio's side of the webhooks for tests: signatures, a signed client, a foot check."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from twilio.request_validator import RequestValidator

from outreach.clock import ManualClock
from outreach.config import Settings
from outreach.db.tables import (
    outbound_messages,
)
from outreach.planning.planner import plan_due
from outreach.sending.dispatcher import Dispatcher
from outreach.texts.render import Renderer
from tests.support.transport import RecordingTransport

TOKEN = "test-auth-token"


BASE = "https://sms.clinic.example"


PHONE = "+16175550142"


CLINIC = "+16175550100"


FORM = "application/x-www-form-urlencoded"


Params = dict[str, str]


def sign(url: str, params: Params, token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, params))


class Twilio:
    """Posts to the app the way Twilio does: form-encoded and signed for the public URL."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def post(
        self,
        path: str,
        params: Params,
        *,
        signature: str | None = None,
        signed: bool = True,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {"Content-Type": FORM, **(headers or {})}
        if signed:
            sent["X-Twilio-Signature"] = signature or sign(BASE + path, params)
        content = urlencode(params).encode() if body is None else body
        response: httpx.Response = self.client.post(path, content=content, headers=sent)
        return response

    def text(self, body: str | None, sid: str | None = None, **extra: str) -> httpx.Response:
        params = {"From": PHONE, "To": CLINIC, "MessageSid": sid or new_sid(), **extra}
        if body is not None:
            params["Body"] = body
        return self.post("/twilio/sms", params)

    def status(self, status: str, *, mid: int | None, sid: str = "", **extra: str) -> None:
        params = {"MessageSid": sid, "MessageStatus": status, **extra}
        path = "/twilio/status" + (f"?mid={mid}" if mid is not None else "")
        assert self.post(path, params).status_code == 204


def new_sid() -> str:
    return "SM" + uuid.uuid4().hex


def rows(engine: Engine, table: Any) -> list[Any]:
    with engine.begin() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)).all())


def send_foot_check(
    engine: Engine, settings: Settings, clock: ManualClock, renderer: Renderer
) -> Any:
    """Run the real planner and dispatcher until the day's foot check has gone out."""
    dispatcher = Dispatcher(engine, settings, clock, RecordingTransport(), renderer, "w")
    for _ in range(4 * 24):
        plan_due(engine, settings, clock.now())
        dispatcher.run()
        sent = [m for m in rows(engine, outbound_messages) if m.template == "foot_check"]
        if sent:
            clock.advance(timedelta(minutes=5))
            return sent[0]
        clock.advance(timedelta(minutes=15))
    raise AssertionError("no foot check went out")
