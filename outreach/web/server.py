"""Run the web app under uvicorn: `outreach serve`, and `outreach run` beside its ticks."""

from __future__ import annotations

import logging
import os
import threading
from typing import Literal

import uvicorn
from fastapi import FastAPI

from outreach.clock import SystemClock
from outreach.config import ConfigError, Settings, session_secret, twilio_credentials
from outreach.db.engine import make_engine
from outreach.rules.replies.conversation import default_rules
from outreach.texts.render import Renderer
from outreach.web.app import create_app

log = logging.getLogger(__name__)


AdminMode = Literal["required", "if configured", "off"]


def build_app(settings: Settings, admin: AdminMode = "required") -> FastAPI:
    """The app with its engine and renderer. The webhooks need Twilio's auth token when
    sms.provider is 'twilio'. The admin needs OUTREACH_SESSION_SECRET: ConfigError if it is
    unset and `admin` is "required"; left off with a warning if "if configured".
    /metrics is served in every mode, behind OUTREACH_METRICS_TOKEN if that is set."""
    auth_token = twilio_credentials().auth_token if settings.sms_provider == "twilio" else None
    secret: str | None = None
    if admin == "off":
        if auth_token is None:
            raise ConfigError(
                "with the admin off there is nothing to serve: sms.provider is not 'twilio'"
            )
    else:
        try:
            secret = session_secret()
        except ConfigError:
            if admin == "required":
                raise
            log.warning("the admin pages are off: OUTREACH_SESSION_SECRET is not set")
    # A failed statement's message would otherwise quote its parameters, a reply's text and
    # phone number among them, into the log.
    engine = make_engine(settings.database_url, hide_parameters=True)
    renderer = Renderer(settings.templates_dir, settings)
    default_rules(settings.templates_dir / "replies")  # a bad rule file stops the start
    token = os.environ.get("OUTREACH_METRICS_TOKEN") or None
    return create_app(engine, settings, auth_token, renderer, SystemClock(), secret, token)


def serve(app: FastAPI, host: str, port: int, stop: threading.Event) -> None:
    """Serve until `stop` is set, then let the requests in flight finish. uvicorn runs in a
    thread so that the caller owns SIGINT and SIGTERM: `outreach run` must stop its ticks
    cleanly too, and uvicorn, left to itself, ends the process by re-raising the signal."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        # uvicorn's records go through our handlers (monitoring/logs.py: format, phone masking).
        log_config=None,
        # An access log would carry search terms and patient ids in its URLs.
        access_log=False,
        # Forwarded headers are ours to judge (settings.trust_forwarded_headers), per request.
        proxy_headers=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    while not stop.wait(0.2):
        if not thread.is_alive():
            raise RuntimeError(f"the web server on {host}:{port} stopped (is the port in use?)")
    server.should_exit = True
    thread.join(timeout=30)
