"""The HTTP face Twilio calls: inbound texts, status callbacks; a health check and /metrics.

Every webhook is verified before anything is stored (DESIGN.md, "Raw first"). A reply that
was stored is always answered 200, even if interpreting it failed: Twilio must not retry it
into a duplicate, and the stored reply is retried by `inbound.process_pending`.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import hmac
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from typing import ParamSpec, TypeVar
from urllib.parse import parse_qsl

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from twilio.twiml.messaging_response import MessagingResponse

from outreach.clock import Clock, SystemClock
from outreach.config import Settings
from outreach.monitoring import metrics
from outreach.replies import inbound, status
from outreach.rules.privacy import mask_phone
from outreach.texts.render import Renderer
from outreach.web import signatures
from outreach.web.admin.app import create_admin

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
MAX_BODY = 64 * 1024  # a 1,600-character emoji text is under 20 KB once form-encoded
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
# Column sizes (models.InboundMessage): longer values are not Twilio's and would not fit.
_MAX_LEN = {"From": 32, "To": 32, "MessageSid": 64}

Params = Sequence[tuple[str, str]]
P = ParamSpec("P")
T = TypeVar("T")


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


def create_app(
    engine: Engine,
    settings: Settings,
    auth_token: str | None,
    renderer: Renderer,
    clock: Clock | None = None,
    session_secret: str | None = None,
    metrics_token: str | None = None,
) -> FastAPI:
    """The webhooks (off without a Twilio auth token to check them with), /healthz,
    /metrics (behind `metrics_token` as a bearer token if given) and, given a session
    secret, the admin pages. No OpenAPI or docs pages: it faces the internet."""
    clock = clock or SystemClock()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=freeze_what_lives)
    in_turn = DatabaseWork(engine)
    exposition = metrics.Exposition(metrics.ClinicCollector(engine, settings, clock.now))

    async def verified_form(request: Request) -> Params:
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

    @app.post("/twilio/sms")
    async def inbound_sms(request: Request) -> Response:
        with timed("sms"):
            return await answer_sms(request)

    async def answer_sms(request: Request) -> Response:
        params = await verified_form(request)
        try:
            check_sms(dict(params))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        reply = await in_turn(take_reply, params, clock.now())
        if reply is None:
            return twiml()
        base = settings.public_base_url
        return twiml(reply.body, f"{base}/twilio/status?mid={reply.message_id}" if base else None)

    def take_reply(params: Params, now: datetime) -> inbound.Reply | None:
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

    @app.post("/twilio/status", status_code=204)
    async def status_callback(request: Request) -> Response:
        with timed("status"):
            return await apply_status(request)

    async def apply_status(request: Request) -> Response:
        params = await verified_form(request)
        try:
            callback = status.parse(dict(params), request.query_params.get("mid"))
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        await in_turn(status.apply, engine, callback, clock.now())
        return Response(status_code=204)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        if await run_in_threadpool(database_answers, engine):
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "database unavailable"}, status_code=503)

    @app.get("/metrics")
    async def prometheus(request: Request) -> Response:
        """No patient data, so no sign-in: like /healthz. A token keeps strangers from
        watching the clinic's volumes where the app faces the internet."""
        if metrics_token is not None:
            given = request.headers.get("authorization", "")
            if not given:
                raise HTTPException(401, headers={"WWW-Authenticate": "Bearer"})
            if not hmac.compare_digest(given.encode(), f"Bearer {metrics_token}".encode()):
                raise HTTPException(403)
        body = await run_in_threadpool(generate_latest, exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    if session_secret is not None:
        # Last, so that the routes above answer first; the admin has its own middleware
        # (sessions), which the webhooks do not pay for.
        app.mount("/", create_admin(engine, settings, clock, session_secret, renderer))
    return app


@contextmanager
def timed(webhook: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.webhook_seconds.labels(webhook=webhook).observe(time.perf_counter() - started)


@asynccontextmanager
async def freeze_what_lives(app: FastAPI) -> AsyncIterator[None]:
    """Everything alive once the server is up (modules, the app, its engine and templates)
    lives as long as the process; frozen, the collector's full passes stop walking it. One
    such pass took 45 ms and held up every reply in flight: p99 went from 115 to 80 ms."""
    gc.collect()
    gc.freeze()
    yield


class DatabaseWork:
    """Runs a webhook's database work off the event loop: on SQLite one at a time, in the
    order the requests came, on a thread of its own; elsewhere on Starlette's thread pool.
    Every SQLite transaction takes the database's one write lock at BEGIN (db.py), so
    webhooks cannot write side by side there anyway, and threads queued on that lock wait
    in SQLite's busy handler, which sleeps in steps of up to 100 ms: with 32 replies in
    flight p99 was over a second, and 150 ms still when they queued on a lock that is not
    first come, first served."""

    def __init__(self, engine: Engine) -> None:
        self._sqlite = (
            ThreadPoolExecutor(1, thread_name_prefix="sqlite-writes")
            if engine.dialect.name == "sqlite"
            else None
        )

    async def __call__(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._sqlite is None:
            return await run_in_threadpool(work, *args, **kwargs)
        call = functools.partial(work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._sqlite, call)


def database_answers(engine: Engine) -> bool:
    # A raw connection: on SQLite, a SQLAlchemy one would take the write lock (BEGIN
    # IMMEDIATE, see db.py) for every probe.
    try:
        connection = engine.raw_connection()
        try:
            connection.cursor().execute("SELECT 1")
        finally:
            connection.close()
    except Exception:  # a raw connection raises the driver's own errors too
        log.warning("health check: the database does not answer")
        return False
    return True
