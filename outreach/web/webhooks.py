"""The webhooks Twilio calls: an inbound text, and a status callback for a text we sent.

Every webhook is verified before anything is stored (DESIGN.md, "Raw first"). A reply that
was stored is always answered 200, even if interpreting it failed: Twilio must not retry it
into a duplicate, and the stored reply is retried by `inbound.process_pending`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from outreach.config import Settings
from outreach.monitoring import metrics
from outreach.replies import inbound, status
from outreach.rules.privacy import mask_phone
from outreach.texts.render import Renderer
from outreach.web import signatures
from outreach.web.deps import (
    ClockDep,
    DatabaseWorkDep,
    EngineDep,
    RendererDep,
    SettingsDep,
    TwilioTokenDep,
)

# The name the webhooks logged under when they lived in web/app.py; operators filter by it.
log = logging.getLogger("outreach.web.app")

router = APIRouter()

FORM = "application/x-www-form-urlencoded"
MAX_BODY = 64 * 1024  # a 1,600-character emoji text is under 20 KB once form-encoded
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
# Column sizes (db/tables.py, inbound_messages): longer values are not Twilio's and would
# not fit.
_MAX_LEN = {"From": 32, "To": 32, "MessageSid": 64}

Params = Sequence[tuple[str, str]]


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """Strict application/x-www-form-urlencoded; raises ValueError on anything else."""
    if _BAD_ESCAPE.search(body):
        raise ValueError("a '%' not followed by two hex digits")
    text = body.decode("utf-8")
    pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    # PostgreSQL text cannot hold NUL, and no phone sends one.
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise ValueError("a NUL character")
    return pairs


def check_sms(fields: dict[str, str]) -> None:
    """An inbound text needs a sender and Twilio's id; raises ValueError naming the field."""
    for name in ("From", "MessageSid"):
        if not fields.get(name):
            raise ValueError(f"{name} is missing")
    for name, limit in _MAX_LEN.items():
        if len(fields.get(name, "")) > limit:
            raise ValueError(f"{name} is longer than {limit} characters")


def as_raw(params: Params) -> dict[str, str | list[str]]:
    """Every field as received; a repeated name keeps all its values."""
    grouped: dict[str, list[str]] = {}
    for name, value in params:
        grouped.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in grouped.items()}


def twiml(reply: str | None = None, action: str | None = None) -> Response:
    answer = MessagingResponse()
    if reply is not None:
        answer.message(reply, action=action)
    return Response(str(answer), media_type="application/xml")


async def verified_form(request: Request, settings: Settings, auth_token: str | None) -> Params:
    """The form's fields, after the checks every webhook passes: 415, 413, 400, 403."""
    if auth_token is None:
        raise HTTPException(404, "Twilio webhooks are off: sms.provider is not 'twilio'")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise HTTPException(415)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413)
    try:
        params = parse_form(bytes(body))
    except ValueError:
        raise HTTPException(400, "malformed form body") from None
    url = signatures.public_url(
        str(request.url),
        request.headers,
        base_url=settings.public_base_url,
        trust_forwarded=settings.trust_forwarded_headers,
    )
    signature = request.headers.get(signatures.HEADER, "")
    if not signatures.is_valid(auth_token, url, params, signature):
        who = mask_phone(dict(params).get("From", "")[:32])
        log.warning("refused %s from %s: bad or missing signature", request.url.path, who)
        raise HTTPException(403)
    return params


@router.post("/twilio/sms")
async def inbound_sms(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    renderer: RendererDep,
    clock: ClockDep,
    auth_token: TwilioTokenDep,
    in_turn: DatabaseWorkDep,
) -> Response:
    # Timed from the first check, so that refused requests are counted too.
    with timed("sms"):
        params = await verified_form(request, settings, auth_token)
        try:
            check_sms(dict(params))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        reply = await in_turn(take_reply, engine, settings, renderer, params, clock.now())
        if reply is None:
            return twiml()
        base = settings.public_base_url
        return twiml(reply.body, f"{base}/twilio/status?mid={reply.message_id}" if base else None)


def take_reply(
    engine: EngineDep, settings: Settings, renderer: Renderer, params: Params, now: datetime
) -> inbound.Reply | None:
    """Store raw, then interpret and record the answer as sent by TwiML."""
    fields, raw = dict(params), as_raw(params)
    inbound_id = inbound.store(
        engine,
        now,
        from_phone=fields["From"],
        to_phone=fields.get("To", ""),
        body=fields.get("Body", ""),
        provider_sid=fields["MessageSid"],
        raw=raw,
    )
    if inbound_id is None:
        log.info("message %s seen before: a webhook retry", fields["MessageSid"])
        metrics.record_reply("duplicate")
        return None
    try:
        reply = inbound.process(engine, settings, renderer, inbound_id, now)
    except Exception:  # stored and kept for a retry: the answer must still be 200
        log.exception("reply %s stored but not processed", inbound_id)
        metrics.record_reply("unprocessed")
        return None
    metrics.record_reply("processed")
    if reply is not None:
        try:
            inbound.record_twiml_reply(engine, reply, now)
        except Exception:  # a safety text matters more than its bookkeeping
            log.exception("reply to %s goes out unrecorded", inbound_id)
    return reply


@router.post("/twilio/status", status_code=204)
async def status_callback(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    clock: ClockDep,
    auth_token: TwilioTokenDep,
    in_turn: DatabaseWorkDep,
) -> Response:
    with timed("status"):
        params = await verified_form(request, settings, auth_token)
        try:
            callback = status.parse(dict(params), request.query_params.get("mid"))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        await in_turn(status.apply, engine, callback, clock.now())
        return Response(status_code=204)


@contextmanager
def timed(webhook: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.webhook_seconds.labels(webhook=webhook).observe(time.perf_counter() - started)
